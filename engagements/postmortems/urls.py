"""Post-mortems, lessons and the checklist (names under the ``engagements:`` namespace)."""

from django.urls import path

from engagements.postmortems import views

urlpatterns = [
    path("postmortems/due/", views.postmortems_due, name="postmortems_due"),
    path("postmortems/<int:pk>/", views.postmortem_detail, name="postmortem_detail"),
    path(
        "postmortems/<int:pk>/export.md",
        views.postmortem_markdown,
        name="postmortem_markdown",
    ),
    path("postmortems/<int:pk>/summary/", views.postmortem_summary, name="postmortem_summary"),
    path("postmortems/<int:pk>/refresh/", views.postmortem_refresh, name="postmortem_refresh"),
    path("postmortems/<int:pk>/publish/", views.postmortem_publish, name="postmortem_publish"),
    path("postmortems/<int:pk>/comments/", views.postmortem_comment, name="postmortem_comment"),
    path("postmortems/<int:pk>/failures/", views.failure_create, name="failure_create"),
    path("postmortems/<int:pk>/lessons/", views.lesson_create, name="lesson_create"),
    path(
        "failures/<int:pk>/edit/",
        views.failure_edit,
        {"action": "edit"},
        name="failure_update",
    ),
    path("failures/<int:pk>/move/", views.failure_edit, {"action": "move"}, name="failure_move"),
    path(
        "failures/<int:pk>/delete/",
        views.failure_edit,
        {"action": "delete"},
        name="failure_delete",
    ),
    path("lessons/<int:pk>/read/", views.lesson_read, name="lesson_read"),
    path("lessons/<int:pk>/edit/", views.lesson_edit, {"action": "edit"}, name="lesson_update"),
    path("lessons/<int:pk>/move/", views.lesson_edit, {"action": "move"}, name="lesson_move"),
    path(
        "lessons/<int:pk>/delete/",
        views.lesson_edit,
        {"action": "delete"},
        name="lesson_delete",
    ),
    path("lessons/", views.lesson_list, name="lesson_list"),
    path("lessons/export.csv", views.lesson_export, name="lesson_export"),
    path("lessons/patterns/", views.lesson_patterns, name="lesson_patterns"),
    path("watcher/report/", views.watcher_report, name="watcher_report"),
    path("lessons/setup/", views.setup_lessons, name="setup_lessons"),
    path("vendors/<int:pk>/lessons/", views.vendor_lessons, name="vendor_lessons"),
    path(
        "engagements/<int:pk>/postmortem/",
        views.engagement_postmortem,
        name="engagement_postmortem",
    ),
    path("engagements/<int:pk>/lessons/", views.engagement_lessons, name="engagement_lessons"),
    path(
        "engagements/<int:pk>/lessons/<int:lesson_pk>/acknowledge/",
        views.lesson_acknowledge,
        name="lesson_acknowledge",
    ),
    path(
        "engagements/<int:pk>/lessons/<int:lesson_pk>/checklist/",
        views.lesson_checklist,
        name="lesson_checklist",
    ),
    path("checklist/<int:pk>/toggle/", views.checklist_toggle, name="checklist_toggle"),
]
