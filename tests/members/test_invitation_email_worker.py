"""The invitation email goes through Redis to a real Celery worker, which must run the
task in the inviting organization's schema: in any other schema the invitation is not
there to be read, and no email would go out."""

import time

from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from members.actions.invitations import invitation_create
from members.actions.signup import organization_signup
from saas.celery import app
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD


def test_invitation_email_is_sent_by_the_worker_from_the_organizations_schema(
    django_db_setup, django_db_blocker
):
    with django_db_blocker.unblock():
        # Committed for real (no test transaction): the worker has its own connection.
        organization, owner = organization_signup(
            name="Worker Test",
            slug="worker-test",
            owner_email="boss@worker.example",
            owner_password=OWNER_PASSWORD,
        )
        try:
            with start_worker(
                app,
                pool="solo",
                perform_ping_check=False,
                queues=[settings.CELERY_TASK_DEFAULT_QUEUE],
            ):
                with tenant_context(organization):
                    invitation_create(
                        actor=User.objects.get(pk=owner.pk),
                        email="hire@worker.example",
                        role=Role.MEMBER,
                        site_root="http://worker-test.localhost:8000",
                    )
                deadline = time.monotonic() + 20
                while not mail.outbox and time.monotonic() < deadline:
                    time.sleep(0.05)
        finally:
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["hire@worker.example"]
    assert "Worker Test" in message.subject
    assert "http://worker-test.localhost:8000/invite/" in message.body
