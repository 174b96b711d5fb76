"""Members -> Integrations: adding the Slack app through OAuth v2 against the local
Slack-format server, its token encrypted at rest, one Slack team per organization, removing
it on the page or in Slack, and the audit log of each."""

from typing import Any

from django.conf import settings
from django.db import transaction
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from accounts.secrets_at_rest import keyset_new
from audit.models import AuditAction, AuditEvent
from integrations.directory.models import SlackTeam
from integrations.models import SlackInstallation
from integrations.token_vault import token_decrypt, token_encrypt
from localdev.slack_server import SlackLocal
from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD, make_member
from tests.integrations.conftest import SlackOrg, manager_client, slack_install
from workspaces.services import workspace_create


def test_admin_adds_the_app_and_the_token_is_stored_encrypted(
    slack_org: SlackOrg, installed: SlackLocal
):
    with tenant_context(slack_org.organization):
        installation = SlackInstallation.objects.get()
        searched = set(installation.workspaces.values_list("name", flat=True))
        events = list(AuditEvent.objects.filter(action=AuditAction.SLACK_INSTALLED))
    team = SlackTeam.objects.get(organization=slack_org.organization)

    token = token_decrypt(installation.bot_token_encrypted)
    assert token in installed.tokens
    assert token not in installation.bot_token_encrypted
    assert installation.team_name == "Local Slack"
    assert searched == {"Handbook", "Everyone"}
    assert (team.team_id, team.bot_user_id) == (installed.team_id, installed.bot_user_id)
    assert events[0].actor_label == "admin@globex.example"
    page = manager_client(slack_org).get("/members/integrations/")
    assert "Local Slack" in page.content.decode()
    assert "Remove from Slack" in page.content.decode()


def test_members_page_links_integrations_and_others_get_404(slack_org: SlackOrg, committed: None):
    admin = manager_client(slack_org)
    member = Client(HTTP_HOST=slack_org.host)
    with tenant_context(slack_org.organization):
        member.force_login(slack_org.reader)
    schema_public_activate()

    assert 'href="/members/integrations/"' in admin.get("/members/").content.decode()
    assert member.get("/members/integrations/").status_code == 404
    assert member.post("/members/integrations/slack/install/").status_code == 404
    assert member.post("/members/integrations/slack/remove/").status_code == 404


def test_install_form_posts_need_the_csrf_token(slack_org: SlackOrg, committed: None):
    client = Client(HTTP_HOST=slack_org.host, enforce_csrf_checks=True)
    with tenant_context(slack_org.organization):
        client.force_login(slack_org.admin)
    schema_public_activate()

    refused = client.post(
        "/members/integrations/slack/install/", {"workspaces": [slack_org.handbook.pk]}
    )

    assert refused.status_code == 403


def test_a_forged_or_foreign_install_state_installs_nothing(
    slack_org: SlackOrg, not_installed: SlackLocal
):
    public = Client(HTTP_HOST=settings.BASE_DOMAIN)
    forged = public.get("/slack/oauth/callback/?code=abc&state=made-up")
    schema_public_activate()
    client = manager_client(slack_org)
    unstarted = client.get("/members/integrations/slack/finish/?code=abc&state=made-up")
    schema_public_activate()

    assert forged.status_code == 400
    assert unstarted.status_code == 302
    assert not SlackTeam.objects.filter(organization=slack_org.organization).exists()


def test_second_organization_claiming_the_same_slack_team_is_refused(
    slack_org: SlackOrg, installed: SlackLocal, django_db_blocker: Any
):
    other, owner = organization_signup(
        name="Initech", slug="slackrival", owner_email="boss@initech.example",
        owner_password=OWNER_PASSWORD,
    )  # fmt: skip
    try:
        with tenant_context(other):
            admin = make_member(email="admin@initech.example", role=Role.ADMIN)
            workspace = workspace_create(actor=owner, name="Docs")
        schema_public_activate()
        theirs = SlackOrg(other, admin, admin, admin, workspace, workspace, workspace)

        client, done = slack_install(theirs, installed, workspaces=[workspace])
        page = client.get(done["Location"])
        schema_public_activate()

        assert "already connected to another organization" in page.content.decode()
        assert SlackTeam.objects.get(team_id=installed.team_id).organization == (
            slack_org.organization
        )
        with tenant_context(other):
            assert not SlackInstallation.objects.exists()
    finally:
        schema_public_activate()
        Organization.objects.get(pk=other.pk).delete(force_drop=True)


def test_admin_removes_the_app_its_token_is_revoked_and_audited(
    slack_org: SlackOrg, installed: SlackLocal
):
    client = manager_client(slack_org)

    removed = client.post("/members/integrations/slack/remove/")
    schema_public_activate()

    assert removed.status_code == 302
    assert installed.tokens == {}
    assert not SlackTeam.objects.filter(organization=slack_org.organization).exists()
    with tenant_context(slack_org.organization):
        assert not SlackInstallation.objects.exists()
        assert AuditEvent.objects.filter(action=AuditAction.SLACK_UNINSTALLED).exists()


def test_the_app_is_removed_even_when_its_token_can_no_longer_be_read(
    slack_org: SlackOrg, installed: SlackLocal, settings
):
    settings.SECRETS_KEYSET = keyset_new()
    with tenant_context(slack_org.organization):
        SlackInstallation.objects.update(bot_token_encrypted=token_encrypt("xoxb-lost"))
    settings.SECRETS_KEYSET = keyset_new()

    removed = manager_client(slack_org).post("/members/integrations/slack/remove/")
    schema_public_activate()

    assert removed.status_code == 302
    with tenant_context(slack_org.organization):
        assert not SlackInstallation.objects.exists()


def test_uninstalling_in_slack_removes_the_install(slack_org: SlackOrg, installed: SlackLocal):
    delivery = installed.uninstall(team_id=installed.team_id)

    assert delivery.status == 200
    assert not SlackTeam.objects.filter(organization=slack_org.organization).exists()
    with tenant_context(slack_org.organization):
        assert not SlackInstallation.objects.exists()
        event = AuditEvent.objects.filter(action=AuditAction.SLACK_UNINSTALLED).first()
    assert event is not None and event.actor is None
    assert event.details["reason"] == "Slack reported app_uninstalled"


def test_a_revoked_bot_token_removes_the_install(slack_org: SlackOrg, installed: SlackLocal):
    body = installed.event_body(
        installed.team_id,
        {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [installed.bot_user_id]}},
    )

    delivery = installed.event_send(body)

    assert delivery.status == 200
    assert not SlackTeam.objects.filter(organization=slack_org.organization).exists()
    with tenant_context(slack_org.organization):
        assert not SlackInstallation.objects.exists()


def test_the_platform_admin_lists_which_organization_each_slack_team_serves(
    slack_org: SlackOrg, installed: SlackLocal
):
    # Rolled back after: deleting platform staff would reach into tables only organizations'
    # schemas hold.
    with transaction.atomic():
        staff = User.objects.create_superuser(email="ops@slack.example", password="ops-pass-42")
        operator = Client(HTTP_HOST=settings.BASE_DOMAIN)
        operator.force_login(staff)
        listed = operator.get("/admin/integrations_directory/slackteam/")
        adding = operator.get("/admin/integrations_directory/slackteam/add/")
        transaction.set_rollback(True)

    assert listed.status_code == 200
    assert installed.team_id in listed.content.decode()
    assert "Globex" in listed.content.decode()
    assert adding.status_code == 403
