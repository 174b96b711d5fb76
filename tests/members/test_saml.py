"""SAML 2.0 single sign-on through allauth's SAML provider (python3-saml, xmlsec) against the
local identity provider (localdev.saml_idp, a signing key made per run), over HTTP: the sign-in
it starts, the answer the identity provider posts back, and the answers it must refuse."""

import re
from html import unescape
from typing import Any

import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from django.test import Client

from accounts.models import Role, User
from audit.models import AuditAction, AuditEvent
from localdev.saml_idp import IdentityProvider as SamlIdentityProvider
from members.actions.membership import MembershipError
from members.actions.single_sign_on import identity_provider_configure_saml
from members.models import IdentityProvider, SignOnProtocol
from tests.conftest import client_for, signed_in
from tests.factories import make_member
from tests.members.conftest import SAML_PASSWORD

FORM_FIELD = re.compile(r'name="(SAMLResponse|RelayState)" value="([^"]*)"')
FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


@pytest.fixture
def saml_on(org_a, owner_a, saml_idp: SamlIdentityProvider) -> IdentityProvider:
    return identity_provider_configure_saml(
        actor=owner_a, name="Alpha ID", metadata_url=f"{saml_idp.base_url}/metadata",
        metadata_xml="", allowed_domains=["alpha.example"], default_role=Role.ADMIN,
        require_sso=False,
    )  # fmt: skip


def identity_provider_answer(
    client: Client, saml_idp: SamlIdentityProvider, email: str, scenario: str = "valid"
) -> tuple[str, dict[str, str]]:
    """Start the sign-in here, sign in at the identity provider; its auto-posting form."""
    started = client.post("/accounts/saml/sso/login/")
    assert started.status_code == 302 and started["Location"].startswith(saml_idp.base_url)
    query = dict(pair.split("=", 1) for pair in started["Location"].partition("?")[2].split("&"))
    page = requests.post(f"{saml_idp.base_url}/sso", data={
        "SAMLRequest": requests.utils.unquote(query["SAMLRequest"]),
        "RelayState": requests.utils.unquote(query.get("RelayState", "")),
        "email": email, "password": SAML_PASSWORD, "scenario": scenario,
    }, timeout=10).text  # fmt: skip
    action = FORM_ACTION.search(page)
    assert action is not None, page
    return unescape(action.group(1)), {
        name: unescape(value) for name, value in FORM_FIELD.findall(page)
    }


def post_answer(client: Client, action: str, fields: dict[str, str]) -> Any:
    """The browser's auto-submitted form, then allauth's hop to finish the sign-in."""
    path = "/" + action.split("/", 3)[3]
    received = client.post(path, fields)
    assert received.status_code == 302, received.content
    return client.get(received["Location"])


def sign_in(
    client: Client, saml_idp: SamlIdentityProvider, email: str, scenario: str = "valid"
) -> Any:
    return post_answer(client, *identity_provider_answer(client, saml_idp, email, scenario))


def test_metadata_url_and_xml_configure_saml_and_the_change_is_audited(org_a, owner_a, saml_idp):
    provider = identity_provider_configure_saml(
        actor=owner_a, name="Alpha ID", metadata_url="", metadata_xml=saml_idp.metadata(),
        allowed_domains=["alpha.example"], default_role=Role.MEMBER, require_sso=False,
    )  # fmt: skip
    assert provider.protocol == SignOnProtocol.SAML
    assert provider.saml_entity_id == saml_idp.entity_id
    assert provider.saml_sso_url == f"{saml_idp.base_url}/sso"
    assert provider.saml_certificate == saml_idp.key.certificate_base64
    event = AuditEvent.objects.get(action=AuditAction.SECURITY_SETTING_CHANGED)
    assert event.details["saml_certificate"] == "replaced"
    assert event.details["saml_entity_id"] == saml_idp.entity_id

    with pytest.raises(MembershipError, match="is not SAML metadata"):
        identity_provider_configure_saml(
            actor=owner_a, name="Alpha ID", metadata_url="", metadata_xml="<html>nope</html>",
            allowed_domains=["alpha.example"], default_role=Role.MEMBER, require_sso=False,
        )  # fmt: skip
    with pytest.raises(MembershipError, match="Could not read"):
        identity_provider_configure_saml(
            actor=owner_a, name="Alpha ID", metadata_url=f"{saml_idp.base_url}/missing",
            metadata_xml="", allowed_domains=["alpha.example"], default_role=Role.MEMBER,
            require_sso=False,
        )  # fmt: skip


def test_first_saml_sign_in_creates_the_member_with_the_default_role(org_a, saml_on, saml_idp):
    client = client_for(org_a)
    landed = sign_in(client, saml_idp, "new.person@alpha.example")

    assert landed.status_code == 302 and landed["Location"] == "/"
    sp_metadata = client.get("/accounts/saml/sso/metadata/").content.decode()
    assert 'Location="http://alpha.localhost/accounts/saml/sso/acs/"' in sp_metadata
    person = User.objects.get(email="new.person@alpha.example")
    assert (person.role, person.full_name, person.has_usable_password()) == (
        Role.ADMIN, "New Person", False,
    )  # fmt: skip
    assert SocialAccount.objects.get(user=person).provider == "saml"
    assert client.get("/").status_code == 200
    joined = AuditEvent.objects.get(action=AuditAction.MEMBER_JOINED, target_id=str(person.pk))
    assert joined.details["provider"] == "Alpha ID"


def test_an_existing_member_is_connected_not_duplicated(org_a, saml_on, saml_idp):
    existing = make_member(email="existing@alpha.example", full_name="Existing Person")
    client = client_for(org_a)

    assert sign_in(client, saml_idp, "existing@alpha.example")["Location"] == "/"
    assert User.objects.filter(email="existing@alpha.example").count() == 1
    assert SocialAccount.objects.get(provider="saml").user == existing


def test_an_address_outside_the_allowed_domains_is_refused(org_a, saml_on, saml_idp):
    refused = sign_in(client_for(org_a), saml_idp, "outsider@elsewhere.example")

    assert refused.status_code == 403
    assert "only addresses at alpha.example can" in refused.content.decode()
    assert not User.objects.filter(email="outsider@elsewhere.example").exists()


@pytest.mark.parametrize(
    ("scenario", "sentence"),
    [
        ("bad-signature", "was not signed with the certificate Alpha has on file"),
        ("expired", "answer has expired"),
        ("wrong-audience", "was meant for another application, not Alpha"),
    ],
)
def test_a_bad_answer_is_refused_with_a_page_that_says_why(
    org_a, saml_on, saml_idp, scenario, sentence
):
    refused = sign_in(client_for(org_a), saml_idp, "new.person@alpha.example", scenario)

    assert refused.status_code == 403
    page = refused.content.decode()
    assert "You could not be signed in" in page and sentence in page
    assert not User.objects.filter(email="new.person@alpha.example").exists()


def test_a_replayed_answer_is_refused_in_the_same_browser_and_in_another(org_a, saml_on, saml_idp):
    client = client_for(org_a)
    action, fields = identity_provider_answer(client, saml_idp, "new.person@alpha.example")
    assert post_answer(client, action, fields)["Location"] == "/"
    client.post("/accounts/logout/")

    again = post_answer(client, action, fields)
    elsewhere = post_answer(client_for(org_a), action, fields)

    for replay in (again, elsewhere):
        assert replay.status_code == 403
        assert (
            "its answer was already used or was meant for another browser"
            in replay.content.decode()
        )
    assert SocialAccount.objects.filter(provider="saml").count() == 1


def test_the_sign_in_page_offers_saml_and_require_sso_keeps_members_off_passwords(org_a, saml_on):
    saml_on.require_sso = True
    saml_on.save()
    page = client_for(org_a).get("/accounts/login/").content.decode()
    assert 'action="/accounts/saml/sso/login/"' in page and "Sign in with Alpha ID" in page
    member = make_member(email="member@alpha.example")
    refused = client_for(org_a).post(
        "/accounts/login/", {"login": member.email, "password": "member-password-123"}
    )
    assert "use “Sign in with Alpha ID”" in refused.content.decode()


def test_the_saml_settings_page_is_for_owners_and_checks_csrf(org_a, owner_a, saml_idp):
    admin = make_member(role=Role.ADMIN)
    form = {
        "name": "Alpha ID", "metadata_url": f"{saml_idp.base_url}/metadata", "metadata_xml": "",
        "allowed_domains": "alpha.example", "default_role": "member",
    }  # fmt: skip
    assert signed_in(org_a, admin).get("/members/single-sign-on/?protocol=saml").status_code == 404
    assert signed_in(org_a, admin).post("/members/single-sign-on/saml/", form).status_code == 404
    strict = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)
    strict.force_login(owner_a)
    assert strict.post("/members/single-sign-on/saml/", form).status_code == 403
    assert not IdentityProvider.objects.exists()

    owner = signed_in(org_a, owner_a)
    page = owner.get("/members/single-sign-on/?protocol=saml").content.decode()
    assert "http://alpha.localhost/accounts/saml/sso/acs/" in page
    nothing = owner.post("/members/single-sign-on/saml/", {**form, "metadata_url": ""})
    assert nothing.status_code == 400 and "metadata URL, or paste" in nothing.content.decode()
    saved = owner.post("/members/single-sign-on/saml/", form, follow=True)
    assert "members sign in over SAML" in saved.content.decode()
    assert IdentityProvider.objects.get().protocol == SignOnProtocol.SAML
