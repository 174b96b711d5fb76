from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models.functions import Lower

from accounts.models import Role
from accounts.secrets_at_rest import secret_open


class Invitation(models.Model):
    """An emailed, signed, expiring offer to join this organization with a role."""

    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    nonce = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.email} as {self.role}"


class LoginHandoff(models.Model):
    """A single-use sign-in ticket that carries a fresh signup from the public site to
    the organization's subdomain, where the session cookie belongs, without the
    password crossing twice."""

    nonce = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Hand-off for {self.user_id}"


# Roles single sign-on may give a person it creates: never owner (an identity provider's
# group change must not be able to hand out the organization).
PROVISIONABLE_ROLES = [choice for choice in Role.choices if choice[0] != Role.OWNER]


# The associated data of the client secret's ciphertext (accounts.secrets_at_rest): a value
# sealed for another column does not open here.
CLIENT_SECRET_PURPOSE = "sso-client-secret"  # noqa: S105 (a name, not a secret)


class SignOnProtocol(models.TextChoices):
    OPENID_CONNECT = "oidc", "OpenID Connect"
    SAML = "saml", "SAML 2.0"


class IdentityProvider(models.Model):
    """The organization's identity provider (single sign-on), one at most, over OpenID Connect
    or SAML 2.0.

    allauth's OpenID Connect or SAML provider signs people in through it; its app is built
    from this row (members.adapter.OrganizationSocialAccountAdapter), never stored twice."""

    # One row per schema: the unique constant makes a second one an IntegrityError.
    singleton = models.BooleanField(default=True, unique=True, editable=False)
    protocol = models.CharField(
        max_length=4, choices=SignOnProtocol.choices, default=SignOnProtocol.OPENID_CONNECT
    )
    name = models.CharField(max_length=60)
    # OpenID Connect.
    issuer_url = models.URLField(max_length=300, blank=True)
    client_id = models.CharField(max_length=255, blank=True)
    # Envelope-encrypted (accounts.secrets_at_rest; the Cloud KMS key in production). Never
    # rendered back (members.forms.IdentityProviderForm); sent only to the token endpoint.
    client_secret_encrypted = models.TextField(blank=True)
    # SAML 2.0, read from the identity provider's metadata (its URL, or the XML pasted).
    saml_metadata_url = models.URLField(max_length=500, blank=True)
    saml_entity_id = models.CharField(max_length=500, blank=True)
    saml_sso_url = models.URLField(max_length=500, blank=True)
    # The certificate its assertions must be signed with (base64 DER, as metadata gives it).
    saml_certificate = models.TextField(blank=True)
    allowed_domains = models.JSONField(default=list)
    default_role = models.CharField(max_length=20, choices=PROVISIONABLE_ROLES, default=Role.MEMBER)
    # Password sign-in (and reset) off for everyone but owners, who keep it to get in when
    # the identity provider is down or misconfigured (members.forms.OrganizationLoginForm).
    require_sso = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Single sign-on with {self.name}"

    @property
    def client_secret(self) -> str:
        """The client secret in clear, for allauth's app (members.adapter); raises
        accounts.secrets_at_rest.SecretUnreadable when the keys configured cannot open it."""
        if not self.client_secret_encrypted:
            return ""
        return secret_open(self.client_secret_encrypted, purpose=CLIENT_SECRET_PURPOSE)

    def allows_email(self, email: str) -> bool:
        domain = email.rpartition("@")[2].lower()
        return domain in self.allowed_domains


class ProvisioningToken(models.Model):
    """A bearer token the identity provider's SCIM client provisions people and groups with
    (members.scim). The secret is shown once when made; only its SHA-256 and a prefix (to
    find it and to show it) are kept."""

    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"SCIM token {self.prefix}…"


class ProvisionedMember(models.Model):
    """A member as the identity provider's directory knows them over SCIM: the userName it
    gave (not always an email address: Microsoft Entra sends a user principal name) and its
    own id for them (externalId)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE,
        related_name="provisioning",
    )  # fmt: skip
    user_name = models.CharField(max_length=254)
    external_id = models.CharField(max_length=255, blank=True)
    # The parts of the name as the directory gave them (the member's full_name is what the
    # product shows), so that a change to one part reads back as it was written.
    given_name = models.CharField(max_length=150, blank=True)
    family_name = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            # SCIM compares userName case-insensitively (RFC 7643 §4.1.1).
            models.UniqueConstraint(Lower("user_name"), name="provisioned_user_name_unique")
        ]

    def __str__(self) -> str:
        return self.user_name


class ProvisionedGroup(models.Model):
    """The identity provider's id (externalId) of a group it provisioned over SCIM."""

    group = models.OneToOneField(
        Group, primary_key=True, on_delete=models.CASCADE, related_name="provisioning"
    )
    external_id = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.external_id
