from django.contrib import admin

from .models import (
    Attachment,
    Contract,
    Evidence,
    EvidenceRevision,
    Vendor,
    VendorContact,
    VendorSettings,
    VendorStatusChange,
)


class UnscopedAdmin(admin.ModelAdmin):
    """Staff see every organization's rows: ``OrganizationMiddleware`` runs the admin for
    staff inside ``all_organizations()``, so changelists, inlines and foreign-key choices
    are all unscoped."""


class ContactInline(admin.TabularInline):
    model = VendorContact
    extra = 0


class StatusChangeInline(admin.TabularInline):
    model = VendorStatusChange
    extra = 0
    readonly_fields = [
        "from_status",
        "to_status",
        "reason",
        "override",
        "overridden_flags",
        "by",
        "at",
    ]
    can_delete = False


@admin.register(Vendor)
class VendorAdmin(UnscopedAdmin):
    list_display = ["name", "org", "status", "score", "review_due_on", "created_at"]
    list_filter = ["status", "org"]
    search_fields = ["name", "specialties", "description"]
    list_select_related = ["org"]
    readonly_fields = ["score", "last_reviewed_at", "created_at"]
    inlines = [ContactInline, StatusChangeInline]


class RevisionInline(admin.TabularInline):
    model = EvidenceRevision
    extra = 0
    readonly_fields = ["version", "snapshot", "edited_by", "edited_at"]
    can_delete = False


@admin.register(Evidence)
class EvidenceAdmin(UnscopedAdmin):
    list_display = ["vendor", "kind", "verified", "recorded_at", "expires_on", "deleted_at"]
    list_filter = ["kind", "verified", "org"]
    search_fields = ["summary", "vendor__name"]
    list_select_related = ["vendor"]
    raw_id_fields = ["vendor"]
    inlines = [RevisionInline]


@admin.register(Contract)
class ContractAdmin(UnscopedAdmin):
    list_display = ["title", "vendor", "start_date", "end_date", "value", "currency"]
    list_select_related = ["vendor"]
    raw_id_fields = ["vendor"]


@admin.register(Attachment)
class AttachmentAdmin(UnscopedAdmin):
    list_display = ["original_name", "vendor", "content_type", "size", "uploaded_at"]
    list_select_related = ["vendor"]
    raw_id_fields = ["vendor", "evidence", "contract"]


@admin.register(VendorSettings)
class VendorSettingsAdmin(UnscopedAdmin):
    list_display = ["org", "review_interval_months"]


admin.site.register(VendorStatusChange, UnscopedAdmin)
admin.site.register(VendorContact, UnscopedAdmin)
