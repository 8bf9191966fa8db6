"""Forms of the vendor portal: the invitation on the engagement page, and what a vendor
contact can tell us through their link (a check-in, a question, a submission)."""

from django import forms

from engagements.delivery.models import Deliverable, DeliverableStatus
from outsourcing.forms import Form, IdsOfItsOwn
from vendors.models import VendorContact


class PortalInviteForm(IdsOfItsOwn, Form):
    """Owners and managers give a contact of the engagement's vendor a private portal link."""

    ids = "portal"

    contact = forms.ModelChoiceField(
        queryset=None,
        label="Vendor contact",
        empty_label=None,
        error_messages={"invalid_choice": "Choose a contact of this engagement's vendor."},
    )

    def __init__(self, *args, engagement, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = VendorContact.objects.filter(
            vendor_id=engagement.vendor_id
        )


class CheckInForm(IdsOfItsOwn, Form):
    """The vendor's check-in: where things stand, what blocks them, how the work feels."""

    ids = "checkin"

    progress = forms.CharField(
        label="Progress since the last check-in",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Tell us where things stand."},
    )
    blockers = forms.CharField(
        label="Blockers, if any",
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    comfort = forms.TypedChoiceField(
        label="How is the collaboration going, from your side?",
        choices=[
            ("", "—"),
            ("5", "5 — great"),
            ("4", "4 — good"),
            ("3", "3 — so-so"),
            ("2", "2 — difficult"),
            ("1", "1 — not working"),
        ],
        coerce=int,
        error_messages={"required": "Pick a rating: it helps us fix our side too."},
    )


class QuestionForm(IdsOfItsOwn, Form):
    ids = "question"

    question = forms.CharField(
        label="Your question",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Write your question."},
    )


class PortalSubmitForm(IdsOfItsOwn, Form):
    """The vendor marks a deliverable submitted, with a note or a link to the work."""

    ids = "submit"

    deliverable = forms.ModelChoiceField(
        queryset=None,
        error_messages={"invalid_choice": "Choose one of the open deliverables."},
    )
    note = forms.CharField(
        label="Note", max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    link = forms.URLField(
        label="Link to the work", max_length=500, required=False, assume_scheme="https"
    )

    def __init__(self, *args, engagement, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["deliverable"].queryset = Deliverable.unscoped.filter(
            engagement_id=engagement.pk,
            status__in=[
                DeliverableStatus.PLANNED,
                DeliverableStatus.IN_PROGRESS,
                DeliverableStatus.REJECTED,
            ],
        )


class PortalAnswerForm(Form):
    """Our answer to a question the vendor asked in the portal (the vendor reads it there)."""

    answer = forms.CharField(
        label="Your answer",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Write the answer the vendor will read."},
    )

    def __init__(self, *args, question_id: int, **kwargs) -> None:
        # One form per open question on the page: ids of its own (``answer-12_answer``).
        kwargs.setdefault("auto_id", f"answer-{question_id}_%s")
        super().__init__(*args, **kwargs)
        self.question_id = question_id
