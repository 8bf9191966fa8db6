from django.urls import path

from .views import alerts, dashboard, notifications, postmortems
from .views import engagements as views
from .views import portal as portal_views

app_name = "engagements"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("engagements/", views.engagement_list, name="engagement_list"),
    path("engagements/new/", views.engagement_create, name="engagement_create"),
    path("engagements/<int:pk>/", views.engagement_detail, name="engagement_detail"),
    path("engagements/<int:pk>/status/", views.engagement_status, name="engagement_status"),
    path(
        "engagements/<int:pk>/readiness/override/",
        views.readiness_override,
        name="readiness_override",
    ),
    path("engagements/<int:pk>/brief/", views.brief_update, name="brief_update"),
    path("engagements/<int:pk>/watch/", views.watch_settings_update, name="watch_settings_update"),
    path(
        "engagements/<int:pk>/exit-criteria/",
        views.exit_criterion_create,
        name="exit_criterion_create",
    ),
    path("engagements/<int:pk>/milestones/", views.milestone_create, name="milestone_create"),
    path("engagements/<int:pk>/deliverables/", views.deliverable_create, name="deliverable_create"),
    path(
        "engagements/<int:pk>/scope-changes/", views.scope_change_create, name="scope_change_create"
    ),
    path("engagements/<int:pk>/spend/", views.spend_create, name="spend_create"),
    path("engagements/<int:pk>/interactions/", views.interaction_create, name="interaction_create"),
    path("engagements/<int:pk>/risks/", views.risk_create, name="risk_create"),
    path(
        "deliverables/<int:pk>/transition/",
        views.deliverable_transition,
        name="deliverable_transition",
    ),
    path("deliverables/<int:pk>/", views.deliverable_update, name="deliverable_update"),
    path("questions/<int:pk>/answer/", views.question_answer, name="question_answer"),
    path("risks/<int:pk>/status/", views.risk_status, name="risk_status"),
    # health watcher
    path("engagements/<int:pk>/health/", alerts.engagement_health, name="engagement_health"),
    path(
        "engagements/<int:pk>/terminate/", alerts.engagement_terminate, name="engagement_terminate"
    ),
    path("alerts/<int:pk>/", alerts.alert_detail, name="alert_detail"),
    path("alerts/<int:pk>/acknowledge/", alerts.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:pk>/snooze/", alerts.alert_snooze, name="alert_snooze"),
    path("alerts/<int:pk>/resolve/", alerts.alert_resolve, name="alert_resolve"),
    path("notifications/", notifications.notification_settings, name="notification_settings"),
    path("notifications/channels/", notifications.channel_create, name="channel_create"),
    path("notifications/channels/<int:pk>/test/", notifications.channel_test, name="channel_test"),
    path(
        "notifications/policy/", notifications.escalation_policy_save, name="escalation_policy_save"
    ),
    path("notifications/digest/", notifications.digest_toggle, name="digest_toggle"),
    path(
        "engagements/<int:pk>/portal/",
        portal_views.portal_access_create,
        name="portal_access_create",
    ),
    path(
        "portal-links/<int:pk>/revoke/",
        portal_views.portal_access_revoke,
        name="portal_access_revoke",
    ),
    # post-mortems and lessons
    path("postmortems/due/", postmortems.postmortems_due, name="postmortems_due"),
    path("postmortems/<int:pk>/", postmortems.postmortem_detail, name="postmortem_detail"),
    path(
        "postmortems/<int:pk>/export.md",
        postmortems.postmortem_markdown,
        name="postmortem_markdown",
    ),
    path(
        "postmortems/<int:pk>/summary/", postmortems.postmortem_summary, name="postmortem_summary"
    ),
    path(
        "postmortems/<int:pk>/refresh/", postmortems.postmortem_refresh, name="postmortem_refresh"
    ),
    path(
        "postmortems/<int:pk>/publish/", postmortems.postmortem_publish, name="postmortem_publish"
    ),
    path(
        "postmortems/<int:pk>/comments/", postmortems.postmortem_comment, name="postmortem_comment"
    ),
    path("postmortems/<int:pk>/failures/", postmortems.failure_create, name="failure_create"),
    path("postmortems/<int:pk>/lessons/", postmortems.lesson_create, name="lesson_create"),
    path(
        "failures/<int:pk>/edit/",
        postmortems.failure_edit,
        {"action": "edit"},
        name="failure_update",
    ),
    path(
        "failures/<int:pk>/move/", postmortems.failure_edit, {"action": "move"}, name="failure_move"
    ),
    path(
        "failures/<int:pk>/delete/",
        postmortems.failure_edit,
        {"action": "delete"},
        name="failure_delete",
    ),
    path("lessons/<int:pk>/read/", postmortems.lesson_read, name="lesson_read"),
    path(
        "lessons/<int:pk>/edit/", postmortems.lesson_edit, {"action": "edit"}, name="lesson_update"
    ),
    path("lessons/<int:pk>/move/", postmortems.lesson_edit, {"action": "move"}, name="lesson_move"),
    path(
        "lessons/<int:pk>/delete/",
        postmortems.lesson_edit,
        {"action": "delete"},
        name="lesson_delete",
    ),
    path("lessons/", postmortems.lesson_list, name="lesson_list"),
    path("lessons/export.csv", postmortems.lesson_export, name="lesson_export"),
    path("lessons/patterns/", postmortems.lesson_patterns, name="lesson_patterns"),
    path("lessons/setup/", postmortems.setup_lessons, name="setup_lessons"),
    path("vendors/<int:pk>/lessons/", postmortems.vendor_lessons, name="vendor_lessons"),
    path(
        "engagements/<int:pk>/postmortem/",
        postmortems.engagement_postmortem,
        name="engagement_postmortem",
    ),
    path(
        "engagements/<int:pk>/lessons/", postmortems.engagement_lessons, name="engagement_lessons"
    ),
    path(
        "engagements/<int:pk>/lessons/<int:lesson_pk>/acknowledge/",
        postmortems.lesson_acknowledge,
        name="lesson_acknowledge",
    ),
    path(
        "engagements/<int:pk>/lessons/<int:lesson_pk>/checklist/",
        postmortems.lesson_checklist,
        name="lesson_checklist",
    ),
    path("checklist/<int:pk>/toggle/", postmortems.checklist_toggle, name="checklist_toggle"),
]
