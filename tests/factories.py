import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, cast

import factory
from allauth.account.models import EmailAddress
from django.conf import settings
from django.utils import timezone

from accounts.models import Role, User
from accounts.secrets_at_rest import secret_seal
from members.models import CLIENT_SECRET_PURPOSE, IdentityProvider, Invitation

OWNER_PASSWORD = "owner-password-123"
MEMBER_PASSWORD = "member-password-123"


class UserFactory(factory.django.DjangoModelFactory):
    """A member of whichever organization's schema is in force."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    role = Role.MEMBER
    password = factory.PostGenerationMethodCall("set_password", MEMBER_PASSWORD)

    @factory.post_generation
    def email_address(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            self.save()
            EmailAddress.objects.create(user=self, email=self.email, primary=True, verified=True)


def make_member(**fields: Any) -> User:
    """A saved member of the organization whose schema is in force (typed for mypy)."""
    return cast(User, UserFactory(**fields))


class InvitationFactory(factory.django.DjangoModelFactory):
    """A pending invitation, recorded without its email (members.actions.invitations.invitation_create
    queues that for a worker, which a test's committed data must not leave behind)."""

    class Meta:
        model = Invitation

    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.MEMBER
    nonce = factory.LazyFunction(lambda: secrets.token_urlsafe(32))
    expires_at = factory.LazyFunction(
        lambda: timezone.now() + timedelta(seconds=settings.INVITATION_MAX_AGE_SECONDS)
    )


def make_invitation(**fields: Any) -> Invitation:
    """A saved pending invitation in the organization whose schema is in force."""
    return cast(Invitation, InvitationFactory(**fields))


def make_identity_provider(**fields: Any) -> IdentityProvider:
    """A saved single sign-on provider without asking its issuer (the service does:
    members.actions.single_sign_on.identity_provider_configure), for pages that only show it."""
    values: dict[str, Any] = {
        "name": "Northwind ID",
        "issuer_url": "https://id.northwind.example",
        "client_id": "knowledge-assistant",
        "client_secret": "a-stored-client-secret",
        "allowed_domains": ["northwind.example"],
        **fields,
    }
    secret = values.pop("client_secret")
    values["client_secret_encrypted"] = (
        secret_seal(secret, purpose=CLIENT_SECRET_PURPOSE) if secret else ""
    )
    return IdentityProvider.objects.create(**values)


def staff_with_authenticator(email: str, password: str) -> tuple[User, str]:
    """A platform operator (public schema) with an authenticator app; returns the secret."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    user = User.objects.create_superuser(email=email, password=password)
    TOTP.activate(user, secret)
    return user, secret


def totp_code(secret: str, periods_ahead: int = 0) -> str:
    """The code an authenticator app shows now for `secret`."""
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + periods_ahead))


@contextmanager
def plan_switched(organization: Any, **caps: Any) -> Iterator[Any]:
    """The organization on a hidden plan named by `caps["name"]` with these caps (the others
    generous) for the block, then back on its own plan; the plan is deleted after."""
    from billing.models import BillingAccount, Plan

    account = BillingAccount.objects.get(organization=organization)
    original = account.plan
    fields: dict[str, Any] = {
        "questions_per_period": 10_000, "max_documents": 1000, "max_storage_bytes": 10**10,
        "max_members": 100, "max_workspaces": 100, "is_public": False, **caps,
    }  # fmt: skip
    plan = Plan.objects.create(slug=f"test-{secrets.token_hex(4)}", **fields)
    account.plan = plan
    account.save()
    try:
        yield plan
    finally:
        account.plan = original
        account.save()
        plan.delete()
