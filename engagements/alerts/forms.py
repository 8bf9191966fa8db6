"""Forms of the health watcher's pages: acting on alerts, channels, the escalation policy."""

from django import forms
from django.utils import timezone

from engagements.alerts.models import AUDIENCES, MAX_REMIND_HOURS, NotificationChannel
from engagements.watch.models import Level
from outsourcing.forms import Form


class AcknowledgeForm(Form):
    note = forms.CharField(required=False, max_length=1000, label="Note")


class SnoozeForm(Form):
    until = forms.DateTimeField(
        label="Snooze until",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="It wakes up earlier if the level rises.",
    )
    note = forms.CharField(required=False, max_length=1000, label="Note")

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until <= timezone.now():
            raise forms.ValidationError("Snooze until a moment in the future.")
        return until


class ResolveForm(Form):
    # Required only while the signals still hold; the service decides (and says so).
    note = forms.CharField(required=False, max_length=1000, label="Why is it resolved?")


class TerminateForm(Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label="Why do we stop?"
    )


APPRISE_HELP = (
    "The service's Apprise URL, e.g. Slack <code>https://hooks.slack.com/services/…</code>, "
    "Teams: the Workflows webhook URL, ntfy <code>ntfys://ntfy.sh/topic</code> (all services "
    "below). It holds the service's credentials: it is never shown again."
)
REMIND_HELP = (
    "While nobody acknowledges. Empty: as the escalation policy says for the level; "
    "0: no reminders here."
)


def _apprise_url_field(**kwargs) -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=2000,
        label="Apprise URL",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "url"}
        ),
        **kwargs,
    )


def _remind_hours_field() -> forms.IntegerField:
    return forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_REMIND_HOURS,
        label="Remind every … hours",
        help_text=REMIND_HELP,
    )


class ChannelForm(Form):
    kind = forms.ChoiceField(choices=NotificationChannel.Kind.choices, label="Kind")
    name = forms.CharField(max_length=100, label="Name")
    url = forms.URLField(required=False, max_length=500, label="Webhook URL", assume_scheme="https")
    apprise_url = _apprise_url_field(help_text=APPRISE_HELP)
    remind_hours = _remind_hours_field()

    def clean(self):
        data = super().clean()
        if data.get("kind") == NotificationChannel.Kind.WEBHOOK and not data.get("url"):
            self.add_error("url", "A webhook needs a URL.")
        if data.get("kind") == NotificationChannel.Kind.APPRISE and not data.get("apprise_url"):
            self.add_error("apprise_url", "A chat or paging channel needs its Apprise URL.")
        return data


AUDIENCE_CHOICES = list(AUDIENCES.items())


class EscalationPolicyForm(Form):
    watch_audience = forms.MultipleChoiceField(
        choices=AUDIENCE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=f"Told at {Level.WATCH.label.lower()}",
    )
    warning_audience = forms.MultipleChoiceField(
        choices=AUDIENCE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=f"Told at {Level.WARNING.label.lower()}",
    )
    cut_losses_audience = forms.MultipleChoiceField(
        choices=AUDIENCE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=f"Told at {Level.CUT_LOSSES.label.lower()}",
    )
    watch_remind_hours = forms.IntegerField(
        min_value=0, max_value=720, label="Remind at watch every … hours (0 = never)"
    )
    warning_remind_hours = forms.IntegerField(
        min_value=0, max_value=720, label="Remind at warning every … hours"
    )
    cut_losses_remind_hours = forms.IntegerField(
        min_value=0, max_value=720, label="Remind at cut your losses every … hours"
    )


class DashboardFilterForm(Form):
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Owner")
    vendor = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Vendor")
    level = forms.ChoiceField(
        required=False, choices=[("", "Any level"), *Level.choices], label="Level"
    )

    def __init__(self, *args, owners=(), vendors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Anyone"), *owners]
        self.fields["vendor"].choices = [("", "Any vendor"), *vendors]


class ChannelEditForm(Form):
    """Rename a channel, point it elsewhere, change its reminders, or pause it."""

    name = forms.CharField(max_length=100, label="Name")
    url = forms.URLField(required=False, max_length=500, label="Webhook URL", assume_scheme="https")
    apprise_url = _apprise_url_field(
        help_text="Empty: keep the current one (it is not shown: it holds the service's "
        "credentials). A new one is checked as when the channel was added."
    )
    remind_hours = _remind_hours_field()
    is_active = forms.BooleanField(
        label="Active (unticked: paused, nothing is sent)", required=False
    )
