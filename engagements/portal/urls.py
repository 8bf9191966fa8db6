"""/portal/<token>/: the vendor portal. The token in the path is the only key."""

from django.urls import path

from .views import portal as views

app_name = "portal"

urlpatterns = [
    path("<str:token>/", views.portal_home, name="portal_home"),
    path("<str:token>/check-in/", views.portal_check_in, name="portal_check_in"),
    path("<str:token>/question/", views.portal_question, name="portal_question"),
    path("<str:token>/submit/", views.portal_submit, name="portal_submit"),
]
