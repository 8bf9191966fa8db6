"""The vendor portal. ``urlpatterns``: /portal/<token>/, the vendor's side (the ``portal:``
namespace; the token in the path is the only key). ``staff_urlpatterns``: the links on the
engagement page (under ``engagements:``)."""

from django.urls import path

from engagements.portal import views

app_name = "portal"

urlpatterns = [
    path("<str:token>/", views.portal_home, name="portal_home"),
    path("<str:token>/check-in/", views.portal_check_in, name="portal_check_in"),
    path("<str:token>/question/", views.portal_question, name="portal_question"),
    path("<str:token>/submit/", views.portal_submit, name="portal_submit"),
]

staff_urlpatterns = [
    path(
        "engagements/<int:pk>/portal/",
        views.portal_access_create,
        name="portal_access_create",
    ),
    path(
        "questions/<int:pk>/portal-answer/",
        views.portal_question_answer,
        name="portal_question_answer",
    ),
    path(
        "portal-links/<int:pk>/revoke/",
        views.portal_access_revoke,
        name="portal_access_revoke",
    ),
]
