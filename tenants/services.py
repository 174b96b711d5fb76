import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.http import HttpRequest
from django.template.loader import render_to_string

from tenants.models import DirectoryEntry, Domain, Organization
from tenants.selectors import organization_list_for_email

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$")
RESERVED_SLUGS = frozenset(
    [
        "www",
        "admin",
        "api",
        "app",
        "apps",
        "static",
        "media",
        "assets",
        "public",
        "auth",
        "login",
        "logout",
        "signup",
        "register",
        "account",
        "accounts",
        "billing",
        "help",
        "support",
        "status",
        "docs",
        "blog",
        "mail",
        "email",
        "smtp",
        "ftp",
        "cdn",
        "dev",
        "staging",
        "test",
        "template",
        "tenant",
        "tenants",
        "root",
        "system",
        "internal",
        "dashboard",
        "www1",
        "www2",
        "ns",
        "ns1",
        "ns2",
        "mx",
        "webmail",
        "security",
        "about",
        "pricing",
    ]
)
TEMPLATE_SCHEMA = settings.ORGANIZATION_TEMPLATE_SCHEMA


def organization_slug_validate(*, slug: str) -> str:
    """The slug normalised, or ValidationError with a message a visitor can act on."""
    slug = slug.strip().lower()
    if not 3 <= len(slug) <= 40:
        raise ValidationError("The address must be 3 to 40 characters long.")
    if not SLUG_PATTERN.match(slug) or "--" in slug:
        raise ValidationError(
            "Use lowercase letters, digits and single hyphens; "
            "start and end with a letter or digit."
        )
    if slug in RESERVED_SLUGS:
        raise ValidationError(f"“{slug}” is reserved. Please choose another address.")
    if Organization.objects.filter(slug=slug).exists():
        raise ValidationError(f"“{slug}” is already taken. Please choose another address.")
    return slug


def organization_schema_name(*, slug: str) -> str:
    # Hyphens are not allowed in schema names and slugs have no underscores, so this is 1:1.
    return "org_" + slug.replace("-", "_")


def organization_domain(*, slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def platform_ensure() -> None:
    """Create the public tenant and the template schema if this database lacks them.

    Called by the run command and the test setup. The template is an Organization row so
    that `migrate_schemas` keeps it current; signups clone it (TENANT_BASE_SCHEMA).
    """
    public, _ = Organization.objects.get_or_create(
        schema_name="public", defaults={"name": "Platform", "slug": "public-site"}
    )
    Domain.objects.get_or_create(
        domain=settings.BASE_DOMAIN, defaults={"tenant": public, "is_primary": True}
    )
    if not Organization.objects.filter(schema_name=TEMPLATE_SCHEMA).exists():
        template = Organization(
            schema_name=TEMPLATE_SCHEMA, name="Template", slug="tenant-template", is_template=True
        )
        template.save(verbosity=0)


def organization_create(*, name: str, slug: str) -> Organization:
    """The organization (its schema cloned from the template) and its domain; the caller
    adds the people and the billing account (members.actions.signup.organization_signup)."""
    slug = organization_slug_validate(slug=slug)
    organization = Organization(
        name=name.strip(), slug=slug, schema_name=organization_schema_name(slug=slug)
    )
    organization.save(verbosity=0)  # clones the template schema
    Domain.objects.create(domain=organization_domain(slug=slug), tenant=organization)
    return organization


def organization_url(*, request: HttpRequest, slug: str, path: str) -> str:
    """An absolute URL on the organization's subdomain, on the scheme and port of `request`."""
    port = request.get_port()
    default_port = "443" if request.is_secure() else "80"
    host = organization_domain(slug=slug) + ("" if port == default_port else f":{port}")
    return f"{request.scheme}://{host}{path}"


def organization_list_emailed(*, email: str, url_of: Callable[[str], str]) -> list[dict[str, str]]:
    """Email `email` the organizations it belongs to ("find my organization"), and return
    them. The email goes out whether or not there are any, so the page tells nothing."""
    email = email.strip().lower()
    organizations = [
        {"name": organization.name, "url": url_of(organization.slug)}
        for organization in organization_list_for_email(email=email)
    ]
    context = {"email": email, "organizations": organizations}
    send_mail(
        subject="Your organizations",
        message=render_to_string("tenants/email/find_message.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )
    return organizations


def directory_add(*, email: str, organization: Organization) -> None:
    DirectoryEntry.objects.get_or_create(email=email.lower(), organization=organization)


def directory_remove(*, email: str, organization: Organization) -> None:
    DirectoryEntry.objects.filter(email=email.lower(), organization=organization).delete()
