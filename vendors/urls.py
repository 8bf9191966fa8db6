from django.urls import path

from . import views

app_name = "vendors"

urlpatterns = [
    path("", views.vendor_list, name="vendor_list"),
    path("new/", views.vendor_create, name="vendor_create"),
    path("export.csv", views.vendor_export, name="vendor_export"),
    path("import/", views.vendor_import, name="vendor_import"),
    path("settings/", views.vendor_settings, name="vendor_settings"),
    path("<int:pk>/", views.vendor_detail, name="vendor_detail"),
    path("<int:pk>/edit/", views.vendor_update, name="vendor_update"),
    path("<int:pk>/decide/", views.vendor_decide, name="vendor_decide"),
    path("<int:pk>/status/", views.vendor_status, name="vendor_status"),
    path("<int:pk>/review/", views.vendor_review, name="vendor_review"),
    path("<int:pk>/contacts/", views.contact_create, name="contact_create"),
    path("<int:pk>/contracts/", views.contract_create, name="contract_create"),
    path("<int:pk>/evidence/", views.evidence_create, name="evidence_create"),
    path("contracts/<int:pk>/", views.contract_detail, name="contract_detail"),
    path("contracts/<int:pk>/edit/", views.contract_update, name="contract_update"),
    path("contracts/<int:pk>/decide/", views.contract_decide, name="contract_decide"),
    path("decisions/<int:pk>/edit/", views.decision_update, name="decision_update"),
    path("decisions/<int:pk>/withdraw/", views.decision_withdraw, name="decision_withdraw"),
    path("contacts/<int:pk>/primary/", views.contact_primary, name="contact_primary"),
    path("contacts/<int:pk>/delete/", views.contact_delete, name="contact_delete"),
    path("evidence/<int:pk>/edit/", views.evidence_update, name="evidence_update"),
    path("evidence/<int:pk>/delete/", views.evidence_delete, name="evidence_delete"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment_download"),
]
