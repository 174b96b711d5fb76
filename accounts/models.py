from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    BILLING_ADMIN = "billing_admin", "Billing admin"
    MEMBER = "member", "Member"


# What an organization role allows, for every layer (billing and members cannot see the
# workspace policy in workspaces.access, which builds on these).
ORGANIZATION_MANAGERS = frozenset({Role.OWNER, Role.ADMIN})  # members, groups, workspaces
BILLING_MANAGERS = frozenset({Role.OWNER, Role.BILLING_ADMIN})  # plan, payment, invoices
# Told about a failed payment: those who pay, and admins who can pass it on.
BILLING_NOTIFIED = frozenset({Role.OWNER, Role.ADMIN, Role.BILLING_ADMIN})


class EmailUserManager(UserManager["User"]):
    def _create_user(self, email: str, password: str | None, **extra_fields: Any) -> "User":
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra_fields: Any
    ) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra_fields: Any
    ) -> "User":
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person signed in to one schema: a member of an organization, or platform staff
    in the public schema. The same email in two organizations is two unrelated rows."""

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    # An API key's identity (api.models.ApiKey): it holds workspace grants like a person and
    # goes through the same access policy, but it has no password, is not a member (not
    # listed, not a seat) and does not read open workspaces unless granted them.
    is_service_account = models.BooleanField(default=False, editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = EmailUserManager()  # type: ignore[misc]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    @property
    def can_manage_members(self) -> bool:
        return self.is_active and self.role in ORGANIZATION_MANAGERS

    @property
    def can_manage_billing(self) -> bool:
        return self.is_active and self.role in BILLING_MANAGERS
