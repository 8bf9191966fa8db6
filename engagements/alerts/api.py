"""/api/v1/alerts: the health watcher's alerts, and acknowledging, snoozing or resolving one.

The actions call the same ``engagements.services.health`` functions as the dashboard; an
alert that changed meanwhile is a 409, a bad moment or a missing note a 422.
"""

from datetime import datetime
from typing import Literal

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from engagements.alerts import services as health
from engagements.alerts.models import Alert, AlertStatus
from outsourcing.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    IdParam,
    Input,
    ListQuery,
    Moment,
    Page,
    Text,
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
