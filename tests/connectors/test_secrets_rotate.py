"""`manage.py secrets_rotate` re-encrypts every stored secret of every organization (sources'
credentials, Slack bot tokens, single sign-on client secrets) under the key in force: Fernet
tokens of before onto the Cloud KMS key, and values wrapped by an old key version onto the
new one."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import tenant_context

from accounts.models import User
from connectors.credentials import credentials_open
from connectors.models import Connector
from connectors.services import website_connector_add
from integrations.models import SlackInstallation
from integrations.token_vault import token_decrypt
from localdev.kms_server import KmsLocalServer
from localdev.website_server import WebsiteLocal
from members.models import IdentityProvider
from tenants.models import Organization
from tests.conftest import KMS_KEY
from tests.factories import make_identity_provider
from workspaces.models import Workspace


def _raw(table: str, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table}")  # noqa: S608 (names, not input)
        (value,) = cursor.fetchone()
    return str(value)


def test_rotation_moves_every_organizations_secrets_onto_the_current_key(
    org_b: Organization, owner_a: User, workspace: Workspace, site: WebsiteLocal,
    kms: KmsLocalServer, settings,
):  # fmt: skip
    # Before the upgrade: Fernet tokens under each column's own keys.
    connector_key, slack_key = Fernet.generate_key(), Fernet.generate_key()
    settings.CONNECTOR_SECRET_KEYS = [connector_key.decode()]
    settings.SLACK_TOKEN_KEYS = [slack_key.decode()]
    connector = website_connector_add(
        actor=owner_a, workspace=workspace, start_url=site.url("/help/"), username="u",
        password="alpha-password",
    )  # fmt: skip
    Connector.objects.filter(pk=connector.pk).update(
        credentials_encrypted=Fernet(connector_key)
        .encrypt(b'{"password": "alpha-password", "username": "u"}')
        .decode()
    )
    with tenant_context(org_b):
        SlackInstallation.objects.create(
            team_id="T0BRAVO", team_name="Bravo", bot_user_id="U0BOT",
            bot_token_encrypted=Fernet(slack_key).encrypt(b"xoxb-bravo").decode(),
            site_root="http://bravo.localhost",
        )  # fmt: skip
        make_identity_provider(client_secret="bravo-sso-secret")
    output = StringIO()

    call_command("secrets_rotate", stdout=output)

    settings.CONNECTOR_SECRET_KEYS = settings.SLACK_TOKEN_KEYS = []
    connector.refresh_from_db()
    assert connector.credentials_encrypted.startswith("env1:kms:")
    assert credentials_open(connector)["password"] == "alpha-password"
    with tenant_context(org_b):
        assert _raw("integrations_slackinstallation", "bot_token_encrypted").startswith("env1:kms:")
        assert token_decrypt(SlackInstallation.objects.get().bot_token_encrypted) == "xoxb-bravo"
        assert _raw("members_identityprovider", "client_secret_encrypted").startswith("env1:kms:")
        assert IdentityProvider.objects.get().client_secret == "bravo-sso-secret"
    assert "Re-encrypted" in output.getvalue()
    assert "1 integrations.SlackInstallation" in output.getvalue()


def test_after_the_kms_key_rotates_the_old_version_can_be_disabled(
    org_b: Organization, owner_a: User, workspace: Workspace, site: WebsiteLocal,
    kms: KmsLocalServer,
):  # fmt: skip
    with tenant_context(org_b):
        make_identity_provider(client_secret="bravo-sso-secret")
    connector = website_connector_add(
        actor=owner_a, workspace=workspace, start_url=site.url("/help/"), username="u",
        password="alpha-password",
    )  # fmt: skip
    old_version = kms.rotate(KMS_KEY) - 1

    call_command("secrets_rotate", stdout=StringIO())
    kms.disable(KMS_KEY, old_version)

    connector.refresh_from_db()
    assert credentials_open(connector)["password"] == "alpha-password"
    with tenant_context(org_b):
        assert IdentityProvider.objects.get().client_secret == "bravo-sso-secret"


def test_a_secret_that_cannot_be_read_is_left_as_it_is_and_named(
    org_b: Organization, kms: KmsLocalServer, settings
):
    with tenant_context(org_b):
        provider = make_identity_provider(client_secret="bravo-sso-secret")
        IdentityProvider.objects.update(
            client_secret_encrypted=Fernet(Fernet.generate_key()).encrypt(b"lost").decode()
        )
    output = StringIO()

    call_command("secrets_rotate", stdout=output)

    assert f"bravo: members.IdentityProvider {provider.pk}" in output.getvalue()
    assert "could not be read with the configured keys and were left as they are" in (
        output.getvalue()
    )
    with tenant_context(org_b):
        stored = IdentityProvider.objects.get().client_secret_encrypted
        assert not stored.startswith("env1:")


def test_a_key_service_outage_stops_the_rotation_with_a_sentence(
    org_b: Organization, kms: KmsLocalServer
):
    with tenant_context(org_b):
        make_identity_provider(client_secret="bravo-sso-secret")
    kms.fail_next = [429]

    with pytest.raises(CommandError, match="could not be reached; try again in a few minutes"):
        call_command("secrets_rotate", stdout=StringIO())

    call_command("secrets_rotate", stdout=StringIO())
    with tenant_context(org_b):
        assert IdentityProvider.objects.get().client_secret == "bravo-sso-secret"
