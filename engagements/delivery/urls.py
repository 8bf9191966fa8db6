"""The engagement pages (names under the ``engagements:`` namespace)."""

from django.urls import path

from engagements.delivery import views

urlpatterns = [
    path("engagements/", views.engagement_list, name="engagement_list"),
    path("engagements/new/", views.engagement_create, name="engagement_create"),
    path("engagements/<int:pk>/", views.engagement_detail, name="engagement_detail"),
    path("engagements/<int:pk>/status/", views.engagement_status, name="engagement_status"),
    path(
        "engagements/<int:pk>/readiness/override/",
        views.readiness_override,
        name="readiness_override",
    ),
    path("engagements/<int:pk>/brief/", views.brief_update, name="brief_update"),
    path("engagements/<int:pk>/watch/", views.watch_settings_update, name="watch_settings_update"),
    path(
        "engagements/<int:pk>/exit-criteria/",
        views.exit_criterion_create,
        name="exit_criterion_create",
    ),
    path("engagements/<int:pk>/milestones/", views.milestone_create, name="milestone_create"),
    path("engagements/<int:pk>/deliverables/", views.deliverable_create, name="deliverable_create"),
    path(
        "engagements/<int:pk>/scope-changes/", views.scope_change_create, name="scope_change_create"
    ),
    path("engagements/<int:pk>/spend/", views.spend_create, name="spend_create"),
    path("engagements/<int:pk>/interactions/", views.interaction_create, name="interaction_create"),
    path("engagements/<int:pk>/risks/", views.risk_create, name="risk_create"),
    path(
        "deliverables/<int:pk>/transition/",
        views.deliverable_transition,
        name="deliverable_transition",
    ),
    path("deliverables/<int:pk>/", views.deliverable_update, name="deliverable_update"),
    path("questions/<int:pk>/answer/", views.question_answer, name="question_answer"),
    path("risks/<int:pk>/status/", views.risk_status, name="risk_status"),
    # corrections: edit (GET the form, POST it) and remove (POST, confirmed first)
    path("engagements/<int:pk>/edit/", views.engagement_update, name="engagement_update"),
    path("engagements/<int:pk>/readiness/", views.readiness_update, name="readiness_update"),
    path("milestones/<int:pk>/edit/", views.milestone_update, name="milestone_update"),
    path("milestones/<int:pk>/delete/", views.milestone_delete, name="milestone_delete"),
    path("deliverables/<int:pk>/delete/", views.deliverable_delete, name="deliverable_delete"),
    path("spend/<int:pk>/edit/", views.spend_update, name="spend_update"),
    path("spend/<int:pk>/delete/", views.spend_delete, name="spend_delete"),
    path("risks/<int:pk>/edit/", views.risk_update, name="risk_update"),
    path("risks/<int:pk>/delete/", views.risk_delete, name="risk_delete"),
    path("scope-changes/<int:pk>/edit/", views.scope_change_update, name="scope_change_update"),
    path("scope-changes/<int:pk>/delete/", views.scope_change_delete, name="scope_change_delete"),
    path("interactions/<int:pk>/edit/", views.interaction_update, name="interaction_update"),
    path("interactions/<int:pk>/delete/", views.interaction_delete, name="interaction_delete"),
    path("exit-criteria/<int:pk>/edit/", views.exit_criterion_update, name="exit_criterion_update"),
    path(
        "exit-criteria/<int:pk>/delete/", views.exit_criterion_delete, name="exit_criterion_delete"
    ),
]
