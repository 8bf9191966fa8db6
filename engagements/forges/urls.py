"""The forges' pages and their webhook endpoints (``/forges/hooks/<forge>/<token>/``)."""

from django.urls import path

from engagements.forges import views

urlpatterns = [
    path("forges/hooks/<str:forge>/<str:token>/", views.forge_webhook, name="forge_webhook"),
    path("forges/", views.forge_list, name="forge_list"),
    path("forges/new/", views.forge_create, name="forge_create"),
    path("forges/<int:pk>/rotate/", views.forge_rotate, name="forge_rotate"),
    path("forges/<int:pk>/revoke/", views.forge_revoke, name="forge_revoke"),
    path("forges/triage/", views.forge_triage, name="forge_triage"),
    path("forges/triage/assign/", views.forge_triage_assign, name="forge_triage_assign"),
    path("engagements/<int:pk>/repositories/", views.repository_map, name="repository_map"),
    path("forge-repositories/<int:pk>/remove/", views.repository_unmap, name="repository_unmap"),
    path("engagements/<int:pk>/activity-rules/", views.activity_rule_add, name="activity_rule_add"),
    path(
        "activity-rules/<int:pk>/remove/", views.activity_rule_remove, name="activity_rule_remove"
    ),
]
