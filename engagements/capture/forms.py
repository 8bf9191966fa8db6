"""Forms of the triage inbox."""

from django import forms

from engagements.delivery.models import Engagement, EngagementStatus
from outsourcing.forms import Form


class AssignForm(Form):
    """File a message under one of the organization's engagements."""

    engagement = forms.ModelChoiceField(queryset=None, empty_label=None)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Built per request (tenant-scoped): never at class level.
        self.fields["engagement"].queryset = Engagement.objects.filter(
            status__in=[EngagementStatus.ACTIVE, EngagementStatus.PAUSED]
        ).order_by("title")


class MeetingConfirmForm(Form):
    """How a meeting went: one of the three answers (each is its own button)."""

    state = forms.ChoiceField(
        choices=[
            ("held", "Held"),
            ("vendor_no_show", "Vendor no-show"),
            ("we_cancelled", "We cancelled"),
        ],
        error_messages={"required": "Held, vendor no-show or we cancelled?"},
    )
