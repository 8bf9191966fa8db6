from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .decorators import allow_viewer
from .forms import EmailAuthenticationForm

app_name = "accounts"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="accounts/login.html",
            authentication_form=EmailAuthenticationForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", allow_viewer(auth_views.LogoutView.as_view()), name="logout"),
    path("members/", views.member_list, name="member_list"),
    path("members/invite/", views.member_invite, name="member_invite"),
    path("members/<int:pk>/role/", views.member_update, name="member_update"),
    path("members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("tokens/", views.apitoken_list, name="apitoken_list"),
    path("tokens/create/", views.apitoken_create, name="apitoken_create"),
    path("tokens/<int:pk>/revoke/", views.apitoken_revoke, name="apitoken_revoke"),
    path("audit/", views.audit_list, name="audit_list"),
    path("organization/switch/", views.organization_switch, name="organization_switch"),
    path("organization/export/", views.organization_export, name="organization_export"),
    path("organization/settings/", views.organization_settings, name="organization_settings"),
]
