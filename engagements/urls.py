from django.urls import path

from .views import dashboard

app_name = "engagements"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
]
