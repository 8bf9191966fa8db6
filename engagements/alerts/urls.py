"""The dashboard, an engagement's health, alerts and notification settings (``engagements:``)."""

from django.urls import path

from engagements.alerts import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("engagements/<int:pk>/health/", views.engagement_health, name="engagement_health"),
    path(
        "engagements/<int:pk>/terminate/", views.engagement_terminate, name="engagement_terminate"
    ),
    path("alerts/<int:pk>/", views.alert_detail, name="alert_detail"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:pk>/snooze/", views.alert_snooze, name="alert_snooze"),
    path("alerts/<int:pk>/resolve/", views.alert_resolve, name="alert_resolve"),
    path("notifications/", views.notification_settings, name="notification_settings"),
    path("notifications/channels/", views.channel_create, name="channel_create"),
    path("notifications/channels/<int:pk>/test/", views.channel_test, name="channel_test"),
    path("notifications/channels/<int:pk>/edit/", views.channel_update, name="channel_update"),
    path("notifications/channels/<int:pk>/delete/", views.channel_delete, name="channel_delete"),
    path("notifications/policy/", views.escalation_policy_save, name="escalation_policy_save"),
    path("notifications/digest/", views.digest_toggle, name="digest_toggle"),
]
