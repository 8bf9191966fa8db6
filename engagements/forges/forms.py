"""Forms of the forge connections, the repository mapping, deliverable rules and triage."""

from django import forms

from engagements.delivery.models import (
    ActivityRule,
    Deliverable,
    DeliverableStatus,
    Engagement,
    EngagementStatus,
)
from engagements.forges.models import Forge
from outsourcing.forms import Form, IdsOfItsOwn


class ConnectionForm(IdsOfItsOwn, Form):
    """A new webhook address for one forge."""

    ids = "connection"

    forge = forms.ChoiceField(choices=Forge.choices)
    name = forms.CharField(max_length=100, help_text="e.g. “Acme's GitHub organization”.")


class RepositoryForm(IdsOfItsOwn, Form):
    """Map a repository or project to the engagement."""

    ids = "repository"

    forge = forms.ChoiceField(choices=Forge.choices)
    repository = forms.CharField(
        max_length=300,
        help_text="GitHub owner/name, GitLab group/project (or its URL), or the generic "
        "format's “repository”.",
    )


class ActivityRuleForm(IdsOfItsOwn, Form):
    """Say what forge activity stands for one deliverable of the engagement."""

    ids = "activity_rule"

    deliverable = forms.ModelChoiceField(queryset=None, empty_label=None)
    match = forms.ChoiceField(choices=ActivityRule.Match.choices, label="Matched by")
    pattern = forms.CharField(
        max_length=200,
        help_text="A branch glob (reports/*), a label (reporting) or a keyword (invoice).",
    )

    def __init__(self, *args, engagement: Engagement, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Built per request (tenant-scoped), the engagement's work not accepted yet.
        self.fields["deliverable"].queryset = Deliverable.objects.filter(
            engagement=engagement
        ).exclude(status=DeliverableStatus.ACCEPTED)


class TriageAssignForm(Form):
    """Send a repository's waiting deliveries to an engagement, or ignore it from now on.

    ``engagements``: the choices, read once for a page of many such forms (one query, not one
    per form)."""

    forge = forms.ChoiceField(choices=Forge.choices, widget=forms.HiddenInput)
    repository = forms.CharField(max_length=200, widget=forms.HiddenInput)
    engagement = forms.ChoiceField(required=False)

    def __init__(self, *args, engagements: list[Engagement] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if engagements is None:
            engagements = choosable_engagements()
        self.engagements = {str(e.pk): e for e in engagements}
        self.fields["engagement"].choices = [("", "— ignore this repository —")] + [
            (str(e.pk), e.title) for e in engagements
        ]

    def clean_engagement(self) -> Engagement | None:
        value = self.cleaned_data["engagement"]
        return self.engagements.get(value) if value else None


def choosable_engagements() -> list[Engagement]:
    """The engagements triage may send a repository to (built per request: tenant-scoped)."""
    return list(
        Engagement.objects.filter(
            status__in=[EngagementStatus.ACTIVE, EngagementStatus.PAUSED, EngagementStatus.DRAFT]
        ).order_by("title")
    )
