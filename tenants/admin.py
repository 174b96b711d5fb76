from celery import current_app
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django_tenants.admin import TenantAdminMixin

from tenants.models import DirectoryEntry, Domain, Organization, OrganizationDeletion


class DomainInline(admin.TabularInline[Domain, Organization]):
    model = Domain
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(TenantAdminMixin, admin.ModelAdmin[Organization]):
    list_display = ["name", "slug", "schema_name", "primary_domain", "created_at"]
    list_filter = ["is_template"]
    search_fields = ["name", "slug", "domains__domain"]
    readonly_fields = ["schema_name", "created_at"]
    inlines = [DomainInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # An organization is made by signup (members.actions.signup.organization_signup), which
        # also gives it a schema name, a billing account and an owner; a bare row cannot.
        return False

    @admin.display(description="Domain")
    def primary_domain(self, obj: Organization) -> str:
        domain = obj.domains.filter(is_primary=True).first()
        return domain.domain if domain else "-"


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin[Domain]):
    list_display = ["domain", "tenant", "is_primary"]
    search_fields = ["domain", "tenant__name"]


@admin.register(DirectoryEntry)
class DirectoryEntryAdmin(admin.ModelAdmin[DirectoryEntry]):
    list_display = ["email", "organization"]
    search_fields = ["email", "organization__name"]


@admin.register(OrganizationDeletion)
class OrganizationDeletionAdmin(admin.ModelAdmin[OrganizationDeletion]):
    """Organizations being deleted and the tombstones of those deleted: which steps are done,
    how many runs it took, the last error. A failed deletion can be run again from here."""

    list_display = [
        "organization_id", "requested_by", "requested_at", "due_at", "completed_at",
        "steps_done", "attempts", "last_error",
    ]  # fmt: skip
    list_filter = ["completed_at"]
    search_fields = ["organization_id", "requested_by"]
    readonly_fields = [field.name for field in OrganizationDeletion._meta.fields]
    actions = ["run_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Run the deletion again (from the step that failed)")
    def run_again(self, request: HttpRequest, queryset: "QuerySet[OrganizationDeletion]") -> None:
        pending = queryset.filter(completed_at=None, started_at__isnull=False)
        # By name: the task is in lifecycle, above this app.
        for deletion in pending:
            current_app.send_task("lifecycle.tasks.organization_deletion_task", args=[deletion.pk])
        messages.success(request, f"{pending.count()} deletion(s) queued to run again.")
