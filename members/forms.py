from typing import Any

from allauth.account.forms import LoginForm, ResetPasswordForm
from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from accounts.models import Role
from members.actions.invitations import INVITATION_ADDRESSES_MAX, invitation_addresses_parse
from members.models import PROVISIONABLE_ROLES, IdentityProvider
from members.selectors import identity_provider_get
from tenants.services import organization_slug_validate


class InvitationForm(forms.Form):
    # Several addresses at once; each is checked on its own and answered in the summary.
    email = forms.CharField(
        label="Email addresses",
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One or more, separated by commas or new lines.",
        error_messages={"required": "Give at least one email address."},
    )
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.MEMBER)

    def clean_email(self) -> list[str]:
        addresses = invitation_addresses_parse(text=self.cleaned_data["email"])
        if not addresses:
            raise ValidationError("Give at least one email address.")
        if len(addresses) > INVITATION_ADDRESSES_MAX:
            raise ValidationError(
                f"Invite at most {INVITATION_ADDRESSES_MAX} addresses at once "
                f"({len(addresses)} were given)."
            )
        return addresses


class GroupForm(forms.Form):
    name = forms.CharField(
        max_length=150,  # django.contrib.auth's Group.name
        error_messages={"required": "Give the group a name."},
    )


class GroupMemberForm(forms.Form):
    email = forms.EmailField(error_messages={"required": "Give the member's email address."})


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(label="Your name", max_length=150, required=False)
    password1 = forms.CharField(label="Choose a password", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="Repeat it", widget=forms.PasswordInput, strip=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords differ.")
        elif password1:
            try:
                validate_password(password1)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class SignupForm(forms.Form):
    name = forms.CharField(label="Organization name", max_length=120)
    slug = forms.CharField(
        label="Address",
        max_length=100,  # the 3-40 rule is the service's, with its own message
        help_text="Lowercase letters, digits and hyphens; 3 to 40 characters.",
    )
    email = forms.EmailField(label="Your work email")
    password = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)

    def clean_slug(self) -> str:
        return organization_slug_validate(slug=self.cleaned_data["slug"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password = cleaned.get("password")
        if password:
            try:
                validate_password(password)
            except ValidationError as error:
                self.add_error("password", error)
        return cleaned


class SecurityForm(forms.Form):
    require_two_factor = forms.BooleanField(required=False)


def _who_may_sign_in(provider: IdentityProvider) -> dict[str, Any]:
    """The settings both protocols' forms share, as their initial values."""
    return {
        "name": provider.name,
        "allowed_domains": ", ".join(provider.allowed_domains),
        "default_role": provider.default_role,
        "require_sso": provider.require_sso,
    }


class IdentityProviderForm(forms.Form):
    name = forms.CharField(
        label="Name on the sign-in button", max_length=60,
        help_text="People see “Sign in with” and this name, e.g. Okta or Acme ID.",
    )  # fmt: skip
    issuer_url = forms.URLField(
        label="Issuer URL", max_length=300, assume_scheme="https",
        help_text="Its OpenID Connect discovery document is read from "
        "<issuer>/.well-known/openid-configuration.",
    )  # fmt: skip
    client_id = forms.CharField(label="Client ID", max_length=255)
    # Write-only: the stored secret is never put back into the page.
    client_secret = forms.CharField(
        label="Client secret", max_length=500, required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )  # fmt: skip
    allowed_domains = forms.CharField(
        label="Allowed email domains", max_length=2000,
        help_text="Separated by commas. Only addresses at these domains may sign in this way.",
    )  # fmt: skip
    default_role = forms.ChoiceField(
        label="Role for new members", choices=PROVISIONABLE_ROLES, initial=Role.MEMBER,
        help_text="Someone signing in for the first time joins with this role.",
    )  # fmt: skip
    require_sso = forms.BooleanField(label="Require single sign-on", required=False)

    def clean_issuer_url(self) -> str:
        url: str = self.cleaned_data["issuer_url"]
        if not url.startswith("https://") and not settings.SSO_ALLOW_HTTP_ISSUERS:
            raise ValidationError("The issuer URL must start with https://.")
        return url

    @staticmethod
    def initial_from(provider: IdentityProvider | None) -> dict[str, Any]:
        if provider is None:
            return {}
        return {
            **_who_may_sign_in(provider),
            "issuer_url": provider.issuer_url,
            "client_id": provider.client_id,
        }


class SamlIdentityProviderForm(forms.Form):
    name = forms.CharField(
        label="Name on the sign-in button", max_length=60,
        help_text="People see “Sign in with” and this name, e.g. Okta or Acme ID.",
    )  # fmt: skip
    metadata_url = forms.URLField(
        label="Identity provider metadata URL", max_length=500, required=False,
        assume_scheme="https",
        help_text="Read when you save. Or paste the metadata XML below instead.",
    )  # fmt: skip
    metadata_xml = forms.CharField(
        label="Identity provider metadata XML", max_length=200_000, required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
    )  # fmt: skip
    allowed_domains = IdentityProviderForm.base_fields["allowed_domains"]
    default_role = IdentityProviderForm.base_fields["default_role"]
    require_sso = IdentityProviderForm.base_fields["require_sso"]

    def clean_metadata_url(self) -> str:
        url: str = self.cleaned_data["metadata_url"]
        if url and not url.startswith("https://") and not settings.SSO_ALLOW_HTTP_ISSUERS:
            raise ValidationError("The metadata URL must start with https://.")
        return url

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        given = cleaned.get("metadata_url") or cleaned.get("metadata_xml", "").strip()
        if not given and not self.errors:
            raise ValidationError(
                "Give the identity provider's metadata URL, or paste its metadata XML."
            )
        return cleaned

    @staticmethod
    def initial_from(provider: IdentityProvider | None) -> dict[str, Any]:
        if provider is None:
            return {}
        return {**_who_may_sign_in(provider), "metadata_url": provider.saml_metadata_url}


def _password_sign_in_refused(user: Any, provider: IdentityProvider | None) -> bool:
    # Owners are the break-glass accounts: they keep their password when the identity
    # provider is down or misconfigured, and can turn the requirement off.
    return bool(provider and provider.require_sso and getattr(user, "role", None) != Role.OWNER)


class OrganizationLoginForm(LoginForm):
    """allauth's sign-in, which also offers the organization's single sign-on and refuses a
    password when single sign-on is required (except an owner's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.identity_provider = identity_provider_get()

    def clean(self) -> Any:
        cleaned = super().clean()
        user = getattr(self, "user", None)
        provider = self.identity_provider
        if user is not None and provider is not None and _password_sign_in_refused(user, provider):
            raise ValidationError(
                f"Your organization signs in with {provider.name}: use “Sign in with "
                f"{provider.name}” above. Passwords are kept for owners only."
            )
        return cleaned


class OrganizationResetPasswordForm(ResetPasswordForm):
    """With single sign-on required, only owners may reset a password; the page still says
    an email is on its way, so it tells nobody who is an owner."""

    users: list[Any]  # set by allauth's clean_email
    refused_by_sso = False

    def clean_email(self) -> str:
        email: str = super().clean_email()
        provider = identity_provider_get()
        self.users = [u for u in self.users if not _password_sign_in_refused(u, provider)]
        self.refused_by_sso = bool(provider and provider.require_sso and not self.users)
        return email

    def save(self, request: Any, **kwargs: Any) -> str:
        if self.refused_by_sso:
            return str(self.cleaned_data["email"])
        return str(super().save(request, **kwargs))
