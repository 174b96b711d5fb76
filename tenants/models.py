from django.conf import settings
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import schema_exists

from tenants.schema_clone import schema_clone


class Organization(TenantMixin):
    """A customer. Its schema holds everything it owns, its users included."""

    name: "models.CharField[str, str]" = models.CharField(max_length=120)
    slug: "models.SlugField[str, str]" = models.SlugField(max_length=40, unique=True)
    is_template: "models.BooleanField[bool, bool]" = models.BooleanField(
        default=False, help_text="The schema new organizations are cloned from; never served."
    )
    created_at: "models.DateTimeField[object, object]" = models.DateTimeField(auto_now_add=True)
    # Set by an owner (members.actions.two_factor.organization_two_factor_require): every
    # member must sign in with an authenticator app too (members.two_factor).
    require_two_factor: "models.BooleanField[bool, bool]" = models.BooleanField(default=False)

    auto_create_schema = True
    auto_drop_schema = True

    def create_schema(
        self, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1
    ) -> bool:
        """Copy the template schema; only the template itself runs every migration."""
        template = settings.ORGANIZATION_TEMPLATE_SCHEMA
        if self.is_template or not sync_schema or not schema_exists(template):
            return bool(super().create_schema(check_if_exists, sync_schema, verbosity))
        if check_if_exists and schema_exists(self.schema_name):
            return False
        schema_clone(source=template, target=self.schema_name)
        return True

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Domain(DomainMixin):
    pass


class DirectoryEntry(models.Model):
    """Which organizations an email address belongs to, for "find my organization".

    Kept in the public schema because a visitor asks before any organization is known;
    written by the services that add and remove members, never from views.
    """

    email = models.EmailField(db_index=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="directory_entries"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["email", "organization"], name="unique_directory_entry")
        ]

    def __str__(self) -> str:
        return f"{self.email} in {self.organization}"
