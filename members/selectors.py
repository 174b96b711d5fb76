from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from members.models import IdentityProvider, Invitation


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


def member_email_taken(*, email: str) -> bool:
    """Whether any account here, removed ones included, has this address."""
    return User.objects.filter(email__iexact=email).exists()


def email_address_unverified(*, user: User) -> EmailAddress | None:
    """The person's address still waiting for verification, the primary one first: allauth
    refuses two-factor setup while any of theirs is unverified."""
    return EmailAddress.objects.filter(user_id=user.pk, verified=False).order_by("-primary").first()
