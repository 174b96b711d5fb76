"""Deleting an organization: an owner schedules it (typed address, a code from their
authenticator app if they have one); it is read-only for the grace period and can be
cancelled; then the deletion cancels the Stripe subscription (the real client against the
local Stripe-format server), deletes its files, its Redis keys and its schema, and removes
its domains and directory entries. What remains is listed: only the tombstone and the
ledger rows. Its old address is a 404. A failed step is recorded and the next run resumes
from it."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from assistant.answer_cache import CachedAnswer, answer_cache_set
from assistant.answering import answer_stop_request
from audit.models import AuditAction, AuditEvent
from billing.ledger import ledger_answer_record
from billing.models import BillingAccount, DailyQuestions, QuestionUsage, UsageDay
from billing.rate_limits import RateLimitedAction, rate_limit_consume
from billing.redis_connection import redis_client
from billing.services import customer_ensure
from lifecycle.deletion import STEPS, organization_deletion_run, organization_deletions_due
from lifecycle.export import data_export_write
from lifecycle.models import DataExport, RetentionPolicy
from localdev.stripe_server import StripeLocal
from members.actions.signup import organization_signup
from tenants.models import DirectoryEntry, Domain, Organization, OrganizationDeletion
from tenants.schemas import schema_public_activate
from tests.conftest import signed_in
from tests.factories import OWNER_PASSWORD, make_member, totp_code
from tests.live import free_port
from tests.members.lifecycle_content import content_make

SLUG = "doomed"


@pytest.fixture
def doomed(db: None, stripe_server: StripeLocal) -> tuple[Organization, User, str]:
    """An organization with documents and their files, an export archive, Redis keys, a
    usage ledger row and an active subscription on the local Stripe-format server."""
    organization, owner = organization_signup(
        name="Doomed", slug=SLUG, owner_email="owner@doomed.example", owner_password=OWNER_PASSWORD
    )
    customer = customer_ensure(organization=organization, email=owner.email)
    account = BillingAccount.objects.get(organization=organization)
    subscription = stripe_server.subscription_create(
        customer=customer, price_id=account.plan.stripe_price_id or "price_team", metadata={}
    )
    BillingAccount.objects.filter(pk=account.pk).update(
        stripe_subscription_id=subscription["id"], status="active"
    )
    with tenant_context(organization):
        owner = User.objects.get(pk=owner.pk)
        content_make(owner)
        data_export_write(export_id=DataExport.objects.create(requested_by=owner).pk)
        RetentionPolicy.objects.create(conversation_days=30)
        answer_stop_request(tenant=organization, message_id=1)
        answer_cache_set(
            key=f"{settings.ANSWER_CACHE_PREFIX}:{organization.schema_name}:digest",
            answer=CachedAnswer(text="t", answered=True, model="m", citations=[],
                                search_embedding=None),
        )  # fmt: skip
    rate_limit_consume(organization=organization, action=RateLimitedAction.ASK, subject="user:1")
    ledger_answer_record(
        organization=organization, model="extractive", input_tokens=10, output_tokens=5,
        cost_micros=0, cached=False,
    )  # fmt: skip
    schema_public_activate()
    return organization, owner, subscription["id"]


def _files_of(schema: str) -> list[str]:
    root = Path(settings.MEDIA_ROOT) / schema
    return [os.path.join(folder, name) for folder, _, names in os.walk(root) for name in names]


def _redis_keys_of(schema: str) -> list[bytes]:
    return list(redis_client().scan_iter(match=f"*{schema}*", count=1000))


def _tables_of(schema: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
        tables = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [schema])
        return tables + (["(the schema itself)"] if cursor.fetchone() else [])


def _schedule(organization: Organization, owner: User, **data: str) -> object:
    return signed_in(organization, owner).post(reverse("lifecycle:deletion_schedule"), data)


def test_after_deletion_nothing_of_the_organization_remains_but_tombstone_and_ledger(
    doomed, stripe_server
):
    organization, owner, subscription_id = doomed
    schema = organization.schema_name
    assert _files_of(schema) and _redis_keys_of(schema) and _tables_of(schema)
    client = signed_in(organization, owner)

    scheduled = client.post(reverse("lifecycle:deletion_schedule"), {"confirmation": SLUG})
    read_only = client.post(reverse("lifecycle:retention"), {"conversation_days": "5"})
    page = client.get(reverse("lifecycle:data"))
    not_yet = organization_deletions_due()
    schema_public_activate()
    OrganizationDeletion.objects.filter(organization_id=organization.pk).update(
        due_at=timezone.now() - timedelta(seconds=1)
    )
    due = organization_deletions_due()
    organization_deletion_run(deletion_id=due[0])
    schema_public_activate()

    assert scheduled.status_code == 302
    assert read_only.status_code == 409
    assert "scheduled for deletion on" in read_only.content.decode()
    assert "is read-only until then" in page.content.decode()
    assert not_yet == []
    assert _tables_of(schema) == []
    assert _files_of(schema) == []
    assert not (Path(settings.MEDIA_ROOT) / schema).exists()
    assert _redis_keys_of(schema) == []
    assert stripe_server.find(subscription_id, "subscription")["status"] == "canceled"
    assert not Organization.objects.filter(pk=organization.pk).exists()
    assert not Domain.objects.filter(domain__startswith=f"{SLUG}.").exists()
    assert not DirectoryEntry.objects.filter(email="owner@doomed.example").exists()
    assert not BillingAccount.objects.filter(organization_id=organization.pk).exists()
    assert not DailyQuestions.objects.filter(organization_id=organization.pk).exists()
    # What is kept: the ledger, and the tombstone (id, dates, who asked, Stripe customer).
    assert UsageDay.objects.filter(organization_id=organization.pk).count() == 1
    assert QuestionUsage.objects.filter(organization_id=organization.pk).count() <= 1
    tombstone = OrganizationDeletion.objects.get(organization_id=organization.pk)
    assert tombstone.requested_by == "owner@doomed.example"
    assert tombstone.completed_at is not None
    assert tombstone.steps_done == STEPS
    assert tombstone.schema_name == ""
    assert tombstone.stripe_customer_id.startswith("cus_")
    assert Client(HTTP_HOST=f"{SLUG}.{settings.BASE_DOMAIN}").get("/").status_code == 404


def test_a_failed_step_is_recorded_and_the_next_run_resumes_from_it(
    doomed, stripe_server, settings
):
    organization, owner, _ = doomed
    assert _schedule(organization, owner, confirmation=SLUG).status_code == 302
    schema_public_activate()
    deletion = OrganizationDeletion.objects.get(organization_id=organization.pk)
    OrganizationDeletion.objects.filter(pk=deletion.pk).update(due_at=timezone.now())
    # Stripe cannot be reached: nothing answers on this port.
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(Exception, match="Connection"):
        organization_deletion_run(deletion_id=deletion.pk)
    failed = OrganizationDeletion.objects.get(pk=deletion.pk)
    settings.STRIPE_API_BASE = stripe_server.url
    organization_deletion_run(deletion_id=deletion.pk)
    schema_public_activate()
    done = OrganizationDeletion.objects.get(pk=deletion.pk)

    assert failed.steps_done == []
    assert failed.last_error.startswith("subscription_cancelled: GatewayError")
    assert failed.attempts == 1
    assert failed.completed_at is None
    assert done.attempts == 2
    assert done.last_error == ""
    assert done.steps_done == STEPS
    assert not Organization.objects.filter(pk=organization.pk).exists()


def test_cancelling_in_the_grace_period_makes_it_writable_again(doomed):
    organization, owner, _ = doomed
    client = signed_in(organization, owner)

    client.post(reverse("lifecycle:deletion_schedule"), {"confirmation": SLUG})
    cancelled = client.post(reverse("lifecycle:deletion_cancel"))
    saved = client.post(reverse("lifecycle:retention"), {"conversation_days": "5"})

    schema_public_activate()
    assert cancelled.status_code == 302
    assert saved.status_code == 302
    assert not OrganizationDeletion.objects.filter(organization_id=organization.pk).exists()
    assert Organization.objects.get(pk=organization.pk).deletion_due_at is None
    with tenant_context(organization):
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {AuditAction.DELETION_SCHEDULED, AuditAction.DELETION_CANCELLED} <= actions


def test_wrong_address_or_missing_code_is_refused_with_a_sentence(doomed):
    organization, owner, _ = doomed
    secret = generate_totp_secret()
    with tenant_context(organization):
        TOTP.activate(owner, secret)

    wrong = _schedule(organization, owner, confirmation="someone-else")
    no_code = _schedule(organization, owner, confirmation=SLUG)
    bad_code = _schedule(organization, owner, confirmation=SLUG, code="12345x")
    right = _schedule(organization, owner, confirmation=SLUG, code=totp_code(secret))

    assert wrong.status_code == 400
    assert "address, “doomed”, to confirm the deletion." in wrong.content.decode()
    assert no_code.status_code == 400
    assert "Enter the 6-digit code from your authenticator app." in no_code.content.decode()
    assert bad_code.status_code == 400
    assert "That code is not right." in bad_code.content.decode()
    assert right.status_code == 302
    schema_public_activate()
    assert OrganizationDeletion.objects.filter(organization_id=organization.pk).count() == 1


def test_only_owners_schedule_or_cancel_and_csrf_is_checked(doomed):
    organization, owner, _ = doomed
    with tenant_context(organization):
        admin = make_member(role="admin")
    client = signed_in(organization, admin)
    guarded = signed_in(organization, owner)
    guarded.handler.enforce_csrf_checks = True

    assert (
        client.post(reverse("lifecycle:deletion_schedule"), {"confirmation": SLUG}).status_code
        == 404
    )
    assert client.post(reverse("lifecycle:deletion_cancel")).status_code == 404
    assert (
        guarded.post(reverse("lifecycle:deletion_schedule"), {"confirmation": SLUG}).status_code
        == 403
    )
    schema_public_activate()
    assert not OrganizationDeletion.objects.exists()
