"""Forms of post-mortems and lessons. They validate shape; the services enforce the rules."""

from django import forms

from engagements.postmortems.models import FailureCategory, PostMortemOutcome
from outsourcing.forms import Form, IdsOfItsOwn
from vendors.models import Vendor

TEXT = forms.Textarea(attrs={"rows": 2})


class SummaryForm(IdsOfItsOwn, Form):
    ids = "summary"

    outcome = forms.ChoiceField(choices=PostMortemOutcome.choices)
    went_well = forms.CharField(
        label="What went well", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class FailureForm(IdsOfItsOwn, Form):
    ids = "failure"

    text = forms.CharField(label="What went wrong", max_length=2000, widget=TEXT)
    category = forms.ChoiceField(choices=FailureCategory.choices)


class LessonForm(IdsOfItsOwn, Form):
    ids = "lesson"

    text = forms.CharField(
        label="Lesson",
        max_length=2000,
        widget=TEXT,
        help_text="A short imperative sentence, e.g. “Check two references before signing.”",
    )
    category = forms.ChoiceField(choices=FailureCategory.choices)
    tags = forms.CharField(required=False, max_length=200, help_text="Comma-separated.")


class MoveForm(Form):
    direction = forms.ChoiceField(choices=[("up", "up"), ("down", "down")])


class CommentForm(IdsOfItsOwn, Form):
    ids = "comment"

    text = forms.CharField(label="Comment", max_length=4000, widget=TEXT)


class LessonFilterForm(Form):
    q = forms.CharField(label="Search", required=False, max_length=200)
    category = forms.ChoiceField(
        required=False, choices=[("", "Any category"), *FailureCategory.choices]
    )
    vendor = forms.ModelChoiceField(queryset=None, required=False, empty_label="Any vendor")
    tag = forms.CharField(required=False, max_length=60)
    since = forms.DateField(
        label="Since", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Built per form, inside the request's tenant scope: this organization's vendors.
        self.fields["vendor"].queryset = Vendor.objects.order_by("name")


class ToggleForm(Form):
    done = forms.BooleanField(required=False)


class RestoreForm(Form):
    """Undo a removal: what ``services.delete_item`` returned, sent back by the undo button."""

    kind = forms.ChoiceField(choices=[("failure", "What went wrong"), ("lesson", "Lesson")])
    text = forms.CharField(max_length=10_000)
    category = forms.ChoiceField(choices=FailureCategory.choices)
    tags = forms.CharField(required=False, max_length=500)
    position = forms.IntegerField(min_value=0)
