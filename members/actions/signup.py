"""The founder's signup (the organization, its billing account and its owner), the single-use
hand-off link that signs the owner in on the new subdomain, and email verification."""

import secrets

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from billing.services import billing_account_create
from members.actions.membership import member_create
from members.models import LoginHandoff
from tenants.models import Organization
from tenants.schemas import schema_name_current
from tenants.services import organization_create

HANDOFF_SALT = "members.handoff"


def organization_signup(
    *, name: str, slug: str, owner_email: str, owner_password: str
) -> tuple[Organization, User]:
    """A new organization with its billing account (on the Free plan) and its owner, whose
    email is still to be verified. ValidationError when the address is taken meanwhile."""
    try:
        with transaction.atomic():
            organization = organization_create(name=name, slug=slug)
            billing_account_create(organization=organization)
            with tenant_context(organization):
                owner = member_create(
                    email=owner_email,
                    password=owner_password,
                    role=Role.OWNER,
                    email_verified=False,
                )
    except IntegrityError:
        # Signups for one address at the same moment all pass the "is it free" check; the
        # unique schema name lets the first insert win and the others wait for it, then fail.
        raise ValidationError(
            f"“{slug}” was just taken by someone else. Please choose another address."
        ) from None
    return organization, owner


def email_verification_send(*, request: HttpRequest, user: User) -> None:
    """Email a verification link for the user's primary address unless it is verified.

    Needs the request of the organization's own host: the link is built from it."""
    address = EmailAddress.objects.filter(user=user, primary=True, verified=False).first()
    if address is not None:
        address.send_confirmation(request, signup=True)


def handoff_issue(*, user: User) -> str:
    nonce = secrets.token_urlsafe(32)
    LoginHandoff.objects.create(nonce=nonce, user=user)
    return signing.dumps({"n": nonce, "s": schema_name_current()}, salt=HANDOFF_SALT)


def handoff_consume(*, token: str) -> User | None:
    """The user a hand-off token signs in, once, within its short lifetime; else None."""
    try:
        payload = signing.loads(token, salt=HANDOFF_SALT, max_age=settings.HANDOFF_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if payload.get("s") != schema_name_current():
        return None
    used = LoginHandoff.objects.filter(nonce=payload.get("n"), used_at=None).update(
        used_at=timezone.now()
    )
    if not used:
        return None
    handoff = LoginHandoff.objects.select_related("user").get(nonce=payload["n"])
    return handoff.user if handoff.user.is_active else None
