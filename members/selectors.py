import hmac

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.secrets_at_rest import SecretUnreadable
from members.models import IdentityProvider, Invitation, ProvisioningToken
from members.tokens import SCIM_TOKEN_PREFIX, prefix_of, secret_hash


def _people() -> QuerySet[User]:
    """Active members: people, not the service accounts of API keys."""
    return User.objects.filter(is_active=True, is_service_account=False)


def member_list() -> QuerySet[User]:
    return _people().order_by("email")


def member_get(*, member_id: int) -> User | None:
    return _people().filter(pk=member_id).first()


def invitation_pending_list() -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
    ).select_related("invited_by")


def invitation_get(*, invitation_id: int) -> Invitation | None:
    return Invitation.objects.filter(pk=invitation_id).first()


def group_list() -> QuerySet[Group]:
    return Group.objects.prefetch_related("user_set").order_by("name")


def group_get(*, group_id: int) -> Group | None:
    return Group.objects.filter(pk=group_id).first()


def seats_held() -> int:
    """Active members plus pending invitations (for the plan's member cap): an invitation
    holds a seat, or ten invitations could pass a cap of three."""
    active = _people()
    pending = invitation_pending_list().exclude(email__in=active.values("email"))
    return active.count() + pending.count()


def members_without_two_factor() -> QuerySet[User]:
    """Active members with no authenticator app, who must set one up if it is required."""
    with_totp = Authenticator.objects.filter(type=Authenticator.Type.TOTP).values("user_id")
    return _people().exclude(pk__in=with_totp).order_by("email")


def identity_provider_get() -> IdentityProvider | None:
    """The organization's single sign-on provider, if an owner configured one."""
    return IdentityProvider.objects.first()


def identity_provider_secret_problem(provider: IdentityProvider | None) -> str:
    """Why the stored client secret cannot be opened with the keys configured (a sentence), or
    "" when it opens or none is stored."""
    if provider is None or not provider.client_secret_encrypted:
        return ""
    try:
        provider.client_secret  # noqa: B018 (opening it is the check)
    except SecretUnreadable as refusal:
        return str(refusal)
    return ""


def member_email_taken(*, email: str) -> bool:
    """Whether any account here, removed ones included, has this address."""
    return User.objects.filter(email__iexact=email).exists()


def email_address_unverified(*, user: User) -> EmailAddress | None:
    """The person's address still waiting for verification, the primary one first: allauth
    refuses two-factor setup while any of theirs is unverified."""
    return EmailAddress.objects.filter(user_id=user.pk, verified=False).order_by("-primary").first()


def provisioning_token_list() -> QuerySet[ProvisioningToken]:
    return ProvisioningToken.objects.select_related("created_by")


def provisioning_token_get(*, token_id: int) -> ProvisioningToken | None:
    return ProvisioningToken.objects.filter(pk=token_id).first()


def provisioning_token_find(*, secret: str) -> ProvisioningToken | None:
    """The usable SCIM token whose secret this is, or None. The prefix finds the row, the
    hash (compared in constant time) proves the token."""
    prefix = prefix_of(secret, kind=SCIM_TOKEN_PREFIX)
    if prefix is None:
        return None
    token = ProvisioningToken.objects.filter(prefix=prefix, revoked_at=None).first()
    if token is None or not hmac.compare_digest(token.secret_hash, secret_hash(secret)):
        return None
    return token


def provisioned_people() -> QuerySet[User]:
    """The people SCIM sees: every active member (so that a directory can find and link the
    ones invited by hand) and the removed ones it still has a record of (deactivated by it)."""
    return (
        User.objects.filter(is_service_account=False)
        .filter(Q(is_active=True) | Q(provisioning__isnull=False))
        .select_related("provisioning")
        .prefetch_related("groups")
        .order_by("pk")
    )


def provisioned_groups() -> QuerySet[Group]:
    return Group.objects.select_related("provisioning").prefetch_related("user_set").order_by("pk")
