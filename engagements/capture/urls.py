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
]
