"""Bad input the security review sent, each case once: a 4xx with a sentence a person
understands, never a 500, and nothing saved."""

import json
import time
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client

from accounts.models import User
from assistant.models import Conversation, Feedback, Message, MessageRole
from billing.models import StripeEvent
from localdev.stripe_server import StripeLocal, signature_header
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.billing.conftest import account_with_customer, stripe_server  # noqa: F401
from tests.conftest import signed_in
from tests.factories import staff_with_authenticator, totp_code
from workspaces.models import Workspace


def test_nul_byte_in_the_retrieval_test_query_is_a_400_with_a_reason(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    response = signed_in(org_a, owner_a).get(f"/w/{workspace.slug}/search/", {"q": "vpn\x00x"})

    assert response.status_code == 400
    assert "Null characters are not allowed." in response.content.decode()


def test_nul_byte_in_the_document_search_is_a_400_with_a_reason(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    owner = signed_in(org_a, owner_a)

    page = owner.get(f"/w/{workspace.slug}/", {"q": "\x00"})
    partial = owner.get(f"/w/{workspace.slug}/", {"q": "a\x00"}, HTTP_HX_REQUEST="true")

    assert page.status_code == 400
    assert "Null characters are not allowed." in page.content.decode()
    assert partial.status_code == 400
    assert partial.content.decode().lstrip().startswith('<div id="documents">')


def test_group_name_with_a_nul_byte_or_empty_is_refused(org_a: Organization, owner_a: User):
    owner = signed_in(org_a, owner_a)

    nul = owner.post("/members/groups/new/", {"name": "Sales\x00"})
    empty = owner.post("/members/groups/new/", {"name": "   "})

    assert nul.status_code == 400
    assert "Null characters are not allowed." in nul.content.decode()
    assert empty.status_code == 400
    assert "Give the group a name." in empty.content.decode()
    assert not Group.objects.exists()


def test_bad_ids_in_group_and_access_urls_and_forms_are_404_or_400(
    org_a: Organization, owner_a: User, workspace: Workspace
):
    owner = signed_in(org_a, owner_a)
    huge = "9" * 25

    assert owner.post(f"/members/groups/{huge}/delete/").status_code == 404
    assert owner.post(f"/members/groups/{huge}/members/", {"email": "a@b.c"}).status_code == 404
    assert owner.post(f"/members/{huge}/role/", {"role": "admin"}).status_code == 404
    assert owner.post(f"/w/{workspace.slug}/access/grants/{huge}/remove/").status_code == 404
    assert owner.post("/members/groups/abc/delete/").status_code == 404
    grant = owner.post(
        f"/w/{workspace.slug}/access/grants/", {"principal": "12\x00", "role": "viewer"}
    )
    member = owner.post("/members/groups/new/", {"name": "Ops"})
    group = Group.objects.get(name="Ops")
    added = owner.post(f"/members/groups/{group.pk}/members/", {"email": "\x00@x.example"})
    assert grant.status_code == 400
    assert "Null characters are not allowed." in grant.content.decode()
    assert member.status_code == 302
    assert added.status_code == 400
    assert "Enter a valid email address." in added.content.decode()


def test_feedback_rating_outside_up_and_down_is_a_400_and_saves_nothing(
    org_a: Organization, owner_a: User
):
    conversation = Conversation.objects.create(user=owner_a, title="Q")
    Message.objects.create(conversation=conversation, role=MessageRole.USER, text="Q?")
    answer = Message.objects.create(
        conversation=conversation, role=MessageRole.ASSISTANT, text="A.", status="done"
    )

    response = signed_in(org_a, owner_a).post(
        f"/ask/messages/{answer.pk}/feedback/", {"rating": "5"}
    )

    assert response.status_code == 400
    assert "Choose thumbs up or thumbs down." in response.content.decode()
    assert not Feedback.objects.exists()


def test_a_form_over_the_size_limit_is_a_friendly_400_and_keeps_the_session(
    org_a: Organization, owner_a: User, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    owner = signed_in(org_a, owner_a)

    response = owner.post("/members/groups/new/", {"name": "x" * 20_000})

    assert response.status_code in (400, 413)
    assert "too large" in response.content.decode()
    assert "sessionid" not in response.cookies
    assert owner.get("/").status_code == 200


def test_too_many_form_fields_is_a_friendly_400_and_keeps_the_session(
    org_a: Organization, owner_a: User
):
    owner = signed_in(org_a, owner_a)

    response = owner.post("/members/groups/new/", {f"f{n}": "x" for n in range(1500)})

    assert response.status_code == 400
    assert "too many fields" in response.content.decode()
    assert owner.get("/").status_code == 200


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ([{"id": "evt_1", "type": "invoice.paid"}], "not a JSON object"),
        ({"id": "evt_2", "type": "invoice.paid", "created": 1700000000}, "no data.object"),
        ({"id": "evt_3", "type": "invoice.paid", "data": {"object": {}}}, "created"),
        ({"type": "invoice.paid", "created": 1700000000, "data": {"object": {}}}, "id"),
        (
            {
                "id": "evt_" + "x" * 296,
                "type": "invoice.paid",
                "created": 1,
                "data": {"object": {}},
            },
            "1 to 100 characters",
        ),
        (
            {"id": "evt_5", "type": "invoice.paid", "created": 10**20, "data": {"object": {}}},
            "plausible time",
        ),
    ],
)
def test_signed_but_malformed_stripe_events_are_a_400_and_stored_nowhere(
    public_client: Client, event: object, reason: str
):
    body = json.dumps(event).encode()
    signature = signature_header(
        payload=body, secret=settings.STRIPE_WEBHOOK_SECRET, timestamp=int(time.time())
    )
    # Events other tests committed to the public schema may be there already: none is added.
    before = set(StripeEvent.objects.values_list("pk", flat=True))

    response = public_client.post(
        "/billing/stripe/webhook/", body, content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )  # fmt: skip

    assert response.status_code == 400
    assert reason in response.content.decode()
    assert set(StripeEvent.objects.values_list("pk", flat=True)) == before


def test_platform_admin_login_without_next_lands_somewhere_not_on_a_500(db: None):
    schema_public_activate()
    _, secret = staff_with_authenticator("operator@platform.example", "right-pass-42")
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    client.post(
        "/admin/login/", {"username": "operator@platform.example", "password": "right-pass-42"}
    )

    response = client.post("/admin/login/", {"code": totp_code(secret)})

    assert response.status_code == 302


def test_deleting_platform_staff_in_the_admin_is_refused_not_a_500(db: None):
    schema_public_activate()
    operator = User.objects.create_superuser(email="operator@platform.example", password="p-42")
    leaver = User.objects.create_superuser(email="leaver@platform.example", password="p-42")
    admin = Client(HTTP_HOST=settings.BASE_DOMAIN)
    admin.force_login(operator)

    response = admin.post(f"/admin/accounts/user/{leaver.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert User.objects.filter(pk=leaver.pk).exists()


# Every place of a Stripe event the endpoint reads, for the three shapes it handles.
STRIPE_EVENT_PLACES = [
    ("customer.subscription.updated", ("id",)),
    ("customer.subscription.updated", ("type",)),
    ("customer.subscription.updated", ("created",)),
    ("customer.subscription.updated", ("data",)),
    ("customer.subscription.updated", ("data", "object")),
    ("customer.subscription.updated", ("data", "object", "id")),
    ("customer.subscription.updated", ("data", "object", "customer")),
    ("checkout.session.completed", ("data", "object", "id")),
    ("checkout.session.completed", ("data", "object", "subscription")),
    ("invoice.paid", ("data", "object", "subscription")),
    ("invoice.paid", ("data", "object", "parent")),
    ("invoice.paid", ("data", "object", "parent", "subscription_details")),
    ("invoice.paid", ("data", "object", "parent", "subscription_details", "subscription")),
]
STRIPE_BAD_VALUES: list[object] = [
    None, True, -1, 10**30, 1.5, "", "\x00", "sub_\x00", "cus_\x00", "sub_../x y", "x" * 300,
    "9999-12-31", [], ["sub_1"], {}, {"id": "\x00"},
]  # fmt: skip


def _stripe_event(event_type: str, subscription_id: str) -> dict[str, Any]:
    """A well-formed event of the type, about a subscription the Stripe server has."""
    objects: dict[str, dict[str, Any]] = {
        "customer.subscription.updated": {"id": subscription_id, "customer": "cus_alpha"},
        "checkout.session.completed": {
            "id": "cs_walk",
            "customer": "cus_alpha",
            "subscription": subscription_id,
        },
        "invoice.paid": {
            "id": "in_walk",
            "customer": "cus_alpha",
            "parent": {"subscription_details": {"subscription": subscription_id}},
        },
    }
    return {
        "id": "evt_walk",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": objects[event_type]},
    }


@pytest.mark.parametrize(("event_type", "place"), STRIPE_EVENT_PLACES)
def test_a_signed_stripe_event_with_any_bad_value_anywhere_is_never_a_server_error(
    org_a: Organization,
    public_client: Client,
    stripe_server: StripeLocal,  # noqa: F811  (the fixture imported above)
    event_type: str,
    place: tuple[str, ...],
):
    account_with_customer(org_a, "cus_alpha")
    subscription = stripe_server.subscription_create(
        customer="cus_alpha", price_id="price_team_monthly", metadata={}
    )
    statuses = []
    for value in STRIPE_BAD_VALUES:
        event = _stripe_event(event_type, subscription["id"])
        node: Any = event
        for key in place[:-1]:
            node = node[key]
        node[place[-1]] = value
        body = json.dumps(event).encode()
        signature = signature_header(payload=body, secret=settings.STRIPE_WEBHOOK_SECRET)
        with transaction.atomic():
            response = public_client.post(
                "/billing/stripe/webhook/", body, content_type="application/json",
                HTTP_STRIPE_SIGNATURE=signature,
            )  # fmt: skip
            transaction.set_rollback(True)  # each value meets an endpoint that has seen none
        statuses.append((repr(value)[:30], response.status_code))

    assert [(value, status) for value, status in statuses if status not in (200, 400)] == []
