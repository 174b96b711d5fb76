from django.contrib import admin
from django.http import HttpRequest
from django_tenants.admin import TenantAdminMixin

from tenants.models import DirectoryEntry, Domain, Organization


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
