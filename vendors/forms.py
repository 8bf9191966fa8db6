from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone

from outsourcing.forms import Form, ModelForm
from outsourcing.uploads import ALLOWED_EXTENSIONS, sniff

from . import terms
from .models import (
    CRITERION_SHORT,
    Contract,
    ContractDecisionKind,
    Criterion,
    EvidenceKind,
    Vendor,
    VendorContact,
    VendorSettings,
    VendorStatus,
    score_field,
)

SCORE_CHOICES = [("", "—"), *((str(n), str(n)) for n in range(1, 6))]
http_url = URLValidator(
    schemes=["http", "https"], message="Enter a web address starting with http:// or https://."
)


class HttpURLField(forms.URLField):
    default_validators = [http_url]
    default_error_messages = {"invalid": http_url.message}

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("assume_scheme", "https")
        super().__init__(**kwargs)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Files whose bytes must match an allowed type, each no larger than MAX_UPLOAD_MB."""

    widget = MultipleFileInput

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            f"PDF, image, text/CSV, DOCX/XLSX or ZIP; at most {settings.MAX_UPLOAD_MB} MB each.",
        )
        super().__init__(**kwargs)
        self.widget.attrs["accept"] = ",".join(ALLOWED_EXTENSIONS)

    def clean(self, data, initial=None) -> list:
        uploads = data if isinstance(data, list | tuple) else [data] if data else []
        cleaned = [super(AttachmentsField, self).clean(upload, initial) for upload in uploads]
        for upload in cleaned:
            if upload.size > settings.MAX_UPLOAD_MB * 1024 * 1024:
                raise ValidationError(f"{upload.name} is larger than {settings.MAX_UPLOAD_MB} MB.")
            if sniff(upload) is None:
                raise ValidationError(
                    f"{upload.name}: this file's content is not an allowed type "
                    "(or does not match its extension)."
                )
        return cleaned


class VendorForm(ModelForm):
    website = HttpURLField(required=False)

    class Meta:
        model = Vendor
        fields = [
            "name",
            "website",
            "description",
            "specialties",
            "rate",
            "currency",
            "time_zone",
            "review_interval_months",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, org=None, check_name: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.check_name = check_name
        if org is not None and self.instance.org_id is None:
            self.instance.org = org
            self.fields["currency"].initial = org.currency

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if self.check_name and (
            Vendor.unscoped.filter(org_id=self.instance.org_id, name__iexact=name)
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            raise ValidationError("A vendor with this name already exists.")
        return name

    def validate_unique(self) -> None:
        pass  # the (org, name) constraint is checked in clean_name; org is not a form field

    def clean_specialties(self) -> str:
        tags = [t.strip().lower() for t in self.cleaned_data["specialties"].split(",")]
        return ", ".join(dict.fromkeys(t for t in tags if t))


class ContactForm(ModelForm):
    class Meta:
        model = VendorContact
        fields = ["name", "role", "email", "phone", "is_primary"]


class EvidenceForm(Form):
    kind = forms.ChoiceField(choices=EvidenceKind.choices)
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write what you saw or were told."},
    )
    link = HttpURLField(required=False, max_length=500)
    verified = forms.BooleanField(
        required=False, label="Verified: hard evidence we saw ourselves (untick for a claim)"
    )
    recorded_at = forms.DateTimeField(
        label="Recorded at",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Empty means now.",
    )
    expires_on = forms.DateField(
        label="Expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="When this must be renewed (e.g. a certificate). References expire after a year unless you set a date.",
    )
    attachments = AttachmentsField()
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for c in Criterion:
            self.fields[score_field(c)] = forms.TypedChoiceField(
                label=CRITERION_SHORT[c].capitalize(),
                choices=SCORE_CHOICES,
                coerce=int,
                empty_value=None,
                required=False,
                error_messages={"invalid_choice": "A score is a whole number from 1 to 5."},
            )

    @property
    def score_fields(self) -> list:
        return [self[score_field(c)] for c in Criterion]

    @property
    def main_fields(self) -> list:
        return [
            self[n] for n in ("kind", "summary", "link", "verified", "recorded_at", "expires_on")
        ]

    def clean_summary(self) -> str:
        summary = self.cleaned_data["summary"].strip()
        if not summary:
            raise ValidationError("Write what you saw or were told.")
        return summary

    def clean_recorded_at(self):
        value = self.cleaned_data["recorded_at"]
        if value and value > timezone.now() + timezone.timedelta(minutes=1):
            raise ValidationError("Evidence cannot be recorded in the future.")
        return value

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        data["scores"] = {c.value: data.pop(score_field(c)) for c in Criterion}
        return data


class DecisionForm(Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("reject", "Reject")], widget=forms.RadioSelect
    )
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write down why: the next person will ask."},
    )
    override = forms.BooleanField(
        required=False, label="Approve despite the flagged criteria (recorded)"
    )

    def service_kwargs(self) -> dict:
        """``services.decide``'s arguments: approve (or not), why, and the override."""
        data = self.cleaned_data
        return {
            "approve": data["decision"] == "approve",
            "rationale": data["rationale"],
            "override": data["override"],
        }


class StatusForm(Form):
    to = forms.ChoiceField(label="New status", choices=[])
    reason = forms.CharField(max_length=500, error_messages={"required": "Say why."})

    def __init__(self, *args, vendor: Vendor, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to"].choices = [(s, VendorStatus(s).label) for s in vendor.other_transitions]


class ReviewForm(Form):
    note = forms.CharField(
        label="What did you check?",
        max_length=1000,
        error_messages={"required": "Say what you checked."},
    )


class ContractForm(ModelForm):
    """A contract's terms and checklist (new, or an edit without the file field)."""

    attachments = AttachmentsField(label="Signed contract")

    class Meta:
        model = Contract
        fields = [
            "title",
            "start_date",
            "end_date",
            "auto_renews",
            "renewal_months",
            "notice_period",
            "notice_unit",
            "termination_for_convenience",
            "termination_fee",
            "value",
            "currency",
            "payment_schedule",
            "instalment_amount",
            "instalment_months",
            "payment_terms",
            *(name for name, _ in Contract.CHECKLIST),
        ]
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "end_date": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["notice_unit"].required = False  # days unless said otherwise

    def clean_notice_unit(self) -> str:
        return self.cleaned_data.get("notice_unit") or terms.DAYS

    def clean(self):
        """The terms' rules (``vendors.terms.check_terms``), each next to its field; the
        service checks the same rules again for the API."""
        data = super().clean()
        names = [n for n in Contract.TERM_FIELDS if n in self.fields]
        if any(n in self.errors for n in names):
            return data  # a field already refused: its own message says enough
        values = {n: data.get(n) for n in names}
        values["payment_schedule"] = values.get("payment_schedule") or terms.NO_SCHEDULE
        found = terms.check_terms(Contract(**values).terms(decisions=()))
        for name, message in found.items():
            self.add_error(name if name in self.fields else None, message)
        return data

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data["payment_schedule"] = data.get("payment_schedule") or terms.NO_SCHEDULE
        return data


class ContractEditForm(ContractForm):
    """The terms of a recorded contract: the file is added with a new contract, not here."""

    class Meta(ContractForm.Meta):
        pass

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["attachments"]  # files come with a new contract


class ContractDecisionForm(Form):
    kind = forms.ChoiceField(
        label="Decision",
        choices=ContractDecisionKind.choices,
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text="Why: the next person to read this contract will ask.",
    )


class DecisionReasonForm(Form):
    """Correct a decision's reason; what was decided changes only by withdrawing it."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Why it was decided: the next person to read this contract will ask.",
    )


class VendorSettingsForm(ModelForm):
    class Meta:
        model = VendorSettings
        fields = ["review_interval_months", *(f"weight_{c.value}" for c in Criterion)]
        labels = {f"weight_{c.value}": f"Weight: {c.label.lower()}" for c in Criterion}


class VendorFilterForm(Form):
    q = forms.CharField(label="Search", required=False)
    status = forms.ChoiceField(choices=[("", "Any status"), *VendorStatus.choices], required=False)
    specialty = forms.CharField(required=False)
    sort = forms.ChoiceField(
        choices=[("name", "Name"), ("score", "Score, best first"), ("recent", "Newest")],
        required=False,
    )


class ImportForm(Form):
    file = forms.FileField(label="CSV file", required=False)
    text = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean(self):
        data = super().clean()
        if self.has_error("text"):  # the hidden copy of the file: say it beside the file field
            self.add_error("file", self.errors.pop("text"))
            return data
        upload = data.get("file")
        if upload:
            if upload.size > settings.MAX_UPLOAD_MB * 1024 * 1024:
                self.add_error("file", f"The file is larger than {settings.MAX_UPLOAD_MB} MB.")
                return data
            try:
                data["text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error(
                    "file",
                    "This file is not UTF-8 text: save it as “CSV UTF-8” and try again.",
                )
        elif not data.get("text"):
            self.add_error("file", "Choose a CSV file.")
        return data
