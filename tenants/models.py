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
    # Set while the organization waits out its deletion's grace period (an owner asked:
    # lifecycle.deletion); it is read-only until then, or until the deletion is cancelled.
    deletion_due_at: "models.DateTimeField[object, object]" = models.DateTimeField(
        null=True, blank=True
    )

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


class OrganizationDeletion(models.Model):
    """An owner's request to delete an organization: the job that does it step by step
    (lifecycle.deletion), and once done its tombstone: the organization's id, the dates and
    who asked, and the Stripe customer its invoices are filed under. Not a foreign key: it
    outlives the organization's row. The platform operator watches it in the admin."""

    organization_id = models.BigIntegerField(unique=True)
    # What the steps work on; cleared once the deletion is complete.
    schema_name = models.CharField(max_length=63, blank=True)
    requested_by = models.EmailField()
    requested_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField(db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The names of the steps done (lifecycle.deletion.STEPS): a run resumes after them.
    steps_done = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    stripe_customer_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        state = "deleted" if self.completed_at else "scheduled"
        return f"Organization {self.organization_id} ({state})"
