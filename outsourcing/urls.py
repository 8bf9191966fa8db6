from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", include("engagements.urls")),
    path("", include("accounts.urls")),
    path("vendors/", include("vendors.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
]

handler500 = "outsourcing.views.server_error"
