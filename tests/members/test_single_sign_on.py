"""Single sign-on settings and what "require single sign-on" does to passwords, through the
real views against the local OpenID Connect identity provider (its discovery document is
read when an owner saves). The browser's sign-ins are in test_single_sign_on_browser.py."""

import importlib
from typing import Any

from django.apps import apps as django_apps
from django.core import mail
from django.db import connection
from django.test import Client

from accounts.models import Role, User
from accounts.secrets_at_rest import keyset_new
from audit.models import AuditAction, AuditEvent
from localdev.kms_server import KmsLocalServer
from members.models import IdentityProvider
from tenants.models import Organization
from tests.conftest import client_for, signed_in
from tests.factories import MEMBER_PASSWORD, OWNER_PASSWORD, make_identity_provider, make_member
from tests.live import free_port
from tests.members.conftest import IdentityProviderSite

PAGE = "/members/single-sign-on/"


def _owner() -> User:
    return User.objects.get(email="owner@globex.example")


def _settings(idp: IdentityProviderSite, **changes: Any) -> dict[str, Any]:
    return {
        "name": "Globex ID",
        "issuer_url": idp.issuer,
        "client_id": idp.client_id,
        "client_secret": idp.client_secret,
        "allowed_domains": "globex.example, @globex.co.uk",
        "default_role": Role.MEMBER,
        **changes,
    }


def _raw_client_secret() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret_encrypted FROM members_identityprovider")
        (stored,) = cursor.fetchone()
    return str(stored)


def _configured(globex: Organization, idp: IdentityProviderSite, **changes: Any) -> Client:
    owner = signed_in(globex, _owner())
    response = owner.post(PAGE, _settings(idp, **changes))
    assert response.status_code == 302, response.content.decode()
    return owner


def test_owner_turns_on_single_sign_on_and_the_secret_is_never_shown_again(
    globex: Organization, idp: IdentityProviderSite
):
    owner = _configured(globex, idp, require_sso="on")

    page = owner.get(PAGE).content.decode()
    assert "Single sign-on settings saved." in page
    assert idp.client_id in page
    assert idp.issuer in page
    assert "globex.example, globex.co.uk" in page
    assert "http://globex.localhost/accounts/oidc/sso/login/callback/" in page
    assert "A secret is stored and never shown" in page
    assert idp.client_secret not in page
    provider = IdentityProvider.objects.get()
    assert provider.client_secret == idp.client_secret
    stored = _raw_client_secret()
    assert stored.startswith("env1:") and idp.client_secret not in stored
    assert provider.allowed_domains == ["globex.example", "globex.co.uk"]
    assert provider.require_sso is True
    event = AuditEvent.objects.get(action=AuditAction.SECURITY_SETTING_CHANGED)
    assert event.details["setting"] == "single_sign_on"
    assert event.details["allowed_domains"] == "globex.example, globex.co.uk"
    assert event.details["require_sso"] == "True"
    assert event.details["client_secret"] == "replaced"
    assert idp.client_secret not in str(event.details)


def test_saving_without_a_secret_keeps_the_stored_one(
    globex: Organization, idp: IdentityProviderSite
):
    owner = _configured(globex, idp)

    response = owner.post(PAGE, _settings(idp, client_secret="", name="Globex Login"))

    assert response.status_code == 302
    provider = IdentityProvider.objects.get()
    assert (provider.name, provider.client_secret) == ("Globex Login", idp.client_secret)
    changes = AuditEvent.objects.filter(action=AuditAction.SECURITY_SETTING_CHANGED)
    assert changes.first().details == {  # type: ignore[union-attr]
        "setting": "single_sign_on",
        "name": "Globex ID → Globex Login",
    }


def test_an_issuer_that_does_not_answer_is_refused_with_a_sentence(
    globex: Organization, idp: IdentityProviderSite
):
    owner = signed_in(globex, _owner())
    nowhere = f"http://127.0.0.1:{free_port()}/o"

    response = owner.post(PAGE, _settings(idp, issuer_url=nowhere))

    assert response.status_code == 400
    assert "Could not read the identity provider&#x27;s configuration" in response.content.decode()
    assert not IdentityProvider.objects.exists()


def test_a_wrong_issuer_url_a_bad_domain_and_a_missing_secret_are_each_explained(
    globex: Organization, idp: IdentityProviderSite
):
    owner = signed_in(globex, _owner())

    wrong_issuer = owner.post(PAGE, _settings(idp, issuer_url=idp.issuer.replace("/o", "/o/x")))
    bad_domain = owner.post(PAGE, _settings(idp, allowed_domains="globex"))
    no_secret = owner.post(PAGE, _settings(idp, client_secret=""))
    owner_role = owner.post(PAGE, _settings(idp, default_role=Role.OWNER))

    assert wrong_issuer.status_code == 400
    assert "Could not read" in wrong_issuer.content.decode()
    assert bad_domain.status_code == 400
    assert "“globex” is not an email domain" in bad_domain.content.decode()
    assert no_secret.status_code == 400
    assert "Give the client secret" in no_secret.content.decode()
    assert owner_role.status_code == 400
    assert "Select a valid choice" in owner_role.content.decode()
    assert not IdentityProvider.objects.exists()


def test_the_page_is_for_owners_only(globex: Organization, idp: IdentityProviderSite):
    admin = signed_in(globex, make_member(email="admin@globex.example", role=Role.ADMIN))
    member = signed_in(globex, make_member(email="member@globex.example"))

    assert admin.get(PAGE).status_code == 404
    assert admin.post(PAGE, _settings(idp)).status_code == 404
    assert member.get(PAGE).status_code == 404
    assert member.post("/members/single-sign-on/remove/").status_code == 404
    assert client_for(globex).get(PAGE)["Location"].startswith("/accounts/login/")
    assert not IdentityProvider.objects.exists()


def test_a_post_without_csrf_token_is_refused(globex: Organization, idp: IdentityProviderSite):
    owner = Client(HTTP_HOST="globex.localhost", enforce_csrf_checks=True)
    owner.force_login(_owner())

    response = owner.post(PAGE, _settings(idp))

    assert response.status_code == 403
    assert not IdentityProvider.objects.exists()


def test_sign_in_page_offers_the_identity_provider_once_configured(
    globex: Organization, idp: IdentityProviderSite
):
    assert "Sign in with" not in client_for(globex).get("/accounts/login/").content.decode()
    _configured(globex, idp)

    page = client_for(globex).get("/accounts/login/").content.decode()

    assert "Sign in with Globex ID" in page
    assert 'action="/accounts/oidc/sso/login/"' in page


def test_require_single_sign_on_refuses_a_members_password_but_not_an_owners(
    globex: Organization, idp: IdentityProviderSite
):
    member = make_member(email="member@globex.example")
    _configured(globex, idp, require_sso="on")

    refused = client_for(globex).post(
        "/accounts/login/", {"login": member.email, "password": MEMBER_PASSWORD}
    )
    owner = client_for(globex)
    allowed = owner.post(
        "/accounts/login/", {"login": "owner@globex.example", "password": OWNER_PASSWORD}
    )

    assert refused.status_code == 200
    assert "Your organization signs in with Globex ID" in refused.content.decode()
    assert "_auth_user_id" not in refused.wsgi_request.session
    assert allowed.status_code == 302
    assert owner.get("/").status_code == 200


def test_without_the_requirement_members_still_sign_in_with_a_password(
    globex: Organization, idp: IdentityProviderSite
):
    member = make_member(email="member@globex.example")
    _configured(globex, idp)

    response = client_for(globex).post(
        "/accounts/login/", {"login": member.email, "password": MEMBER_PASSWORD}
    )

    assert response.status_code == 302


def test_require_single_sign_on_sends_password_resets_to_owners_only(
    globex: Organization, idp: IdentityProviderSite
):
    member = make_member(email="member@globex.example")
    _configured(globex, idp, require_sso="on")

    for email in (member.email, "owner@globex.example"):
        response = client_for(globex).post("/accounts/password/reset/", {"email": email})
        assert response.status_code == 302

    assert [message.to for message in mail.outbox] == [["owner@globex.example"]]


def test_turning_single_sign_on_off_restores_passwords(
    globex: Organization, idp: IdentityProviderSite
):
    member = make_member(email="member@globex.example")
    owner = _configured(globex, idp, require_sso="on")

    response = owner.post("/members/single-sign-on/remove/")

    assert response.status_code == 302
    assert not IdentityProvider.objects.exists()
    signed = client_for(globex).post(
        "/accounts/login/", {"login": member.email, "password": MEMBER_PASSWORD}
    )
    assert signed.status_code == 302
    assert AuditEvent.objects.filter(
        action=AuditAction.SECURITY_SETTING_CHANGED, details__removed=idp.issuer
    ).exists()


def test_the_secret_is_wrapped_by_the_cloud_kms_key_and_the_sign_in_button_still_works(
    globex: Organization, idp: IdentityProviderSite, kms: KmsLocalServer
):
    _configured(globex, idp)

    assert _raw_client_secret().startswith("env1:kms:")
    assert IdentityProvider.objects.get().client_secret == idp.client_secret
    response = client_for(globex).post("/accounts/oidc/sso/login/")
    assert response.status_code == 302
    assert response["Location"].startswith(idp.issuer)


def test_a_secret_the_keys_cannot_open_stops_sign_in_with_a_sentence_not_a_500(
    globex: Organization, idp: IdentityProviderSite, settings
):
    settings.SECRETS_KEYSET = keyset_new()
    _configured(globex, idp)
    settings.SECRETS_KEYSET = keyset_new()

    sign_in_page = client_for(globex).get("/accounts/login/")
    response = client_for(globex).post("/accounts/oidc/sso/login/")

    assert sign_in_page.status_code == 200
    assert "Sign in with Globex ID" in sign_in_page.content.decode()
    assert response.status_code == 503
    assert "its client secret cannot be read" in response.content.decode()
    assert "enter the secret again on the Single sign-on page" in response.content.decode()
    owner = signed_in(globex, _owner())
    settings_page = owner.get(PAGE)
    assert settings_page.status_code == 200
    assert "cannot be read with the configured keys; enter it again" in (
        settings_page.content.decode()
    )
    assert owner.post(PAGE, _settings(idp)).status_code == 302
    assert client_for(globex).post("/accounts/oidc/sso/login/").status_code == 302


def test_the_upgrade_migration_encrypts_a_secret_stored_in_clear(globex: Organization):
    make_identity_provider(client_secret="placeholder")
    IdentityProvider.objects.update(client_secret_encrypted="clear-secret-of-before")
    migration = importlib.import_module("members.migrations.0006_client_secret_encrypted")

    migration._encrypt(django_apps, None)

    assert _raw_client_secret().startswith("env1:")
    assert IdentityProvider.objects.get().client_secret == "clear-secret-of-before"
