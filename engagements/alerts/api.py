"""/api/v1/alerts: the health watcher's alerts, and acknowledging, snoozing or resolving one;
/api/v1/channels: where alerts go (owners add and change channels, every member reads them).

The actions call the same ``engagements.alerts.services`` functions as the pages; an alert
that changed meanwhile is a 409, a bad moment or a missing note a 422; a URL the service
refuses (not allowed, unreadable, a private address) a 409 naming the field.
"""

from datetime import datetime
from typing import Literal

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from accounts.models import Role
from engagements.alerts import services as health
from engagements.alerts.models import MAX_REMIND_HOURS, Alert, AlertStatus, NotificationChannel
from outsourcing.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    IdParam,
    Input,
    Int,
    ListQuery,
    Moment,
    Page,
    PageQuery,
    Text,
    TokenAuth,
    list_page,
)

router = Router(tags=["alerts"])

# A literal, not the Level enum: the schema already has a "Level" component (risk levels).
HealthLevel = Literal["healthy", "watch", "warning", "cut_losses"]


class AlertOut(Schema):
    id: int
    engagement_id: int
    engagement_title: str = Field(..., alias="engagement.title")
    level: HealthLevel
    status: AlertStatus
    opened_at: datetime
    level_changed_at: datetime
    acknowledged_at: datetime | None
    snoozed_until: datetime | None
    resolved_at: datetime | None
    note: str


class AlertPage(Page):
    items: list[AlertOut]


class AlertFilters(ListQuery):
    level: HealthLevel | None = None
    status: AlertStatus | None = Field(None, description="Default: every alert not resolved.")
    engagement: IdParam | None = None
    owner: IdParam | None = Field(None, description="User id of the engagement's owner.")
    vendor: IdParam | None = Field(None, description="Vendor id of the engagement.")


class NoteIn(Input):
    note: Text(2000) = ""


class ResolveIn(Input):
    note: Text(2000, blank=False) = Field(description="Why the alert is resolved (required).")


class SnoozeIn(Input):
    until: Moment = Field(description="A moment in the future (409 if it has passed).")
    note: Text(2000) = ""


@router.get("", response={200: AlertPage, **READ_ERRORS}, summary="List alerts (open by default)")
def alert_list(request, filters: Query[AlertFilters]):
    queryset = Alert.objects.select_related("engagement").filter_for_list(
        status=filters.status or "",
        level=filters.level or "",
        engagement=filters.engagement,
        owner=filters.owner,
        vendor=filters.vendor,
    )
    return list_page(queryset, filters, updated_field="level_changed_at")


@router.get("/{alert_id}", response={200: AlertOut, **READ_ERRORS}, summary="One alert")
def alert_detail(request, alert_id: IdParam):
    return get_object_or_404(Alert.objects.select_related("engagement"), pk=alert_id)


ACTED = {200: AlertOut, **WRITE_ERRORS}  # an action answers with the alert as it is now


def _act(request, alert_id: int, action, **kwargs):
    alert = get_object_or_404(Alert.objects.select_related("engagement"), pk=alert_id)
    action(alert=alert, by=request.user, **kwargs)
    return Alert.objects.select_related("engagement").get(pk=alert.pk)


@router.post("/{alert_id}/acknowledge", response=ACTED, summary="Acknowledge an alert")
def alert_acknowledge(request, alert_id: IdParam, payload: NoteIn):
    return _act(request, alert_id, health.acknowledge_alert, note=payload.note)


@router.post("/{alert_id}/snooze", response=ACTED, summary="Snooze an alert until a future moment")
def alert_snooze(request, alert_id: IdParam, payload: SnoozeIn):
    return _act(request, alert_id, health.snooze_alert, until=payload.until, note=payload.note)


@router.post("/{alert_id}/resolve", response=ACTED, summary="Resolve an alert with a note")
def alert_resolve(request, alert_id: IdParam, payload: ResolveIn):
    return _act(request, alert_id, health.resolve_alert, note=payload.note)


# --- channels --------------------------------------------------------------------------------


class OwnerWrites(TokenAuth):
    """The token's member reads channels; only an owner changes them (checked before the body
    is read, so a manager's request is a 403 whatever it sends)."""

    def authenticate(self, request, token: str):
        api_token = super().authenticate(request, token)
        if api_token and request.method != "GET" and request.membership.role != Role.OWNER:
            raise PermissionDenied("Only owners change notification channels.")
        return api_token


channels = Router(tags=["channels"], auth=OwnerWrites())

ChannelKind = Literal["email", "webhook", "apprise"]
REMIND_DESCRIPTION = (
    f"Hours between reminders on this channel while an alert stays unacknowledged (0 to "
    f"{MAX_REMIND_HOURS}; 0: none here); null: the escalation policy's cadence for the level. "
    "Levels the policy never reminds at stay quiet either way."
)


class ChannelOut(Schema):
    id: int
    kind: ChannelKind
    name: str
    url: str = Field(
        description="A webhook's URL; an Apprise channel's URL with its credentials masked "
        "(the full one is never returned)."
    )
    remind_hours: int | None = Field(description=REMIND_DESCRIPTION)
    is_active: bool
    created_at: datetime


class ChannelPage(Page):
    items: list[ChannelOut]


class ChannelIn(Input):
    kind: ChannelKind
    name: Text(100, blank=False, strip=True)
    url: Text(500) = Field(
        "", description="webhook: its http(s) URL, a public address (409 otherwise)."
    )
    apprise_url: Text(2000) = Field(
        "",
        description="apprise: the service's Apprise URL (Slack, Teams Workflows, Discord, "
        "Telegram, ntfy, PagerDuty, Opsgenie… see docs/alerts-and-notifications.md); 409 for a "
        "service that is not allowed, a URL Apprise cannot read or a private address.",
    )
    remind_hours: Int(0, MAX_REMIND_HOURS) | None = Field(None, description=REMIND_DESCRIPTION)


class ChannelPatch(Input):
    """Only the fields sent change; null leaves a field as it is, except ``remind_hours``,
    where a null sent means "the escalation policy's cadence"."""

    name: Text(100, blank=False, strip=True) | None = None
    url: Text(500) | None = Field(None, description="webhook only: a new http(s) URL.")
    apprise_url: Text(2000) | None = Field(
        None, description="apprise only: a new Apprise URL (checked as on creation)."
    )
    remind_hours: Int(0, MAX_REMIND_HOURS) | None = Field(None, description=REMIND_DESCRIPTION)
    is_active: bool | None = Field(None, description="false: paused, nothing is sent.")


@channels.get(
    "",
    response={200: ChannelPage, **READ_ERRORS},
    summary="List the notification channels",
    url_name="channels",
)
def channel_list(request, paging: Query[PageQuery]):
    return list_page(NotificationChannel.objects.all(), paging)


@channels.post(
    "",
    response={201: ChannelOut, **WRITE_ERRORS},
    summary="Add a notification channel (owners)",
    url_name="channels",
)
def channel_create(request, payload: ChannelIn):
    return Status(201, health.create_channel(org=request.org, **payload.model_dump()))


@channels.get(
    "/{channel_id}",
    response={200: ChannelOut, **READ_ERRORS},
    summary="One notification channel",
    url_name="channel",
)
def channel_detail(request, channel_id: IdParam):
    return get_object_or_404(NotificationChannel.objects, pk=channel_id)


@channels.patch(
    "/{channel_id}",
    response={200: ChannelOut, **WRITE_ERRORS},
    summary="Change a notification channel: name, URL, reminders, paused (owners)",
    url_name="channel",
)
def channel_update(request, channel_id: IdParam, payload: ChannelPatch):
    channel = get_object_or_404(NotificationChannel.objects, pk=channel_id)
    sent = payload.model_dump(exclude_unset=True)
    values = {
        "name": sent.get("name") or channel.name,
        "url": channel.url if sent.get("url") is None else sent["url"],
        "apprise_url": sent.get("apprise_url") or "",
        "is_active": channel.is_active if sent.get("is_active") is None else sent["is_active"],
        "remind_hours": sent.get("remind_hours", channel.remind_hours),
    }
    return health.update_channel(channel=channel, **values)
