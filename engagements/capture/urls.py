"""Mail capture's pages (the triage inbox, threads) and the providers' inbound webhooks."""

from django.urls import path

from engagements.capture import views

urlpatterns = [
    path("mail/inbound/<str:provider>/", views.inbound_webhook, name="inbound_webhook"),
    path("mail/triage/", views.triage_list, name="triage_list"),
    path("mail/triage/<int:pk>/assign/", views.triage_assign, name="triage_assign"),
    path("mail/triage/<int:pk>/ignore/", views.triage_ignore, name="triage_ignore"),
    path("engagements/<int:pk>/mail/", views.mail_threads, name="mail_threads"),
    path("engagements/<int:pk>/mail/capture/", views.capture_toggle, name="capture_toggle"),
    path("meetings/", views.meetings_to_confirm, name="meetings_to_confirm"),
    path("meetings/<int:pk>/confirm/", views.meeting_confirm, name="meeting_confirm"),
    path("meetings/link/<str:token>/", views.meeting_link, name="meeting_link"),
    path("calendar/", views.calendar_feeds, name="calendar_feeds"),
    path("calendar/new/", views.calendar_feed_create, name="calendar_feed_create"),
    path("calendar/<int:pk>/revoke/", views.calendar_feed_revoke, name="calendar_feed_revoke"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
]
