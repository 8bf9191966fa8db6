from django.urls import path

from .views import alerts, dashboard, notifications

app_name = "engagements"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
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
]
