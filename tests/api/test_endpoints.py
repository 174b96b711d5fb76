"""Every endpoint of /api/v1/, driven with a real key through Django's handlers against the
real database, as an integration would use them."""

from django_tenants.utils import tenant_context

from assistant.models import Feedback, Message
from audit.models import AuditAction, AuditEvent
from billing.selectors import billing_account_get, period_current, questions_used
from tests.api.conftest import ApiOrg, api_client, assert_problem, key_issue
from tests.files import SAMPLES, upload
from workspaces.models import Document, DocumentStatus


def test_key_lists_only_its_granted_workspaces_with_their_documents(db: None, api_org: ApiOrg):
    issued = key_issue(api_org, scopes=["read"], workspaces=[api_org.handbook])
    api = api_client(api_org, issued)

    workspaces = api.get("workspaces/")
    assert workspaces.status_code == 200
    assert [(w["slug"], w["document_count"]) for w in workspaces.json()] == [("handbook", 2)]

    listed = api.get("workspaces/handbook/documents/").json()
    assert listed["count"] == 2 and listed["next"] is None
    documents = listed["results"]
    assert sorted(d["original_name"] for d in documents) == [
        "employee-handbook-time-off.md", "product-faq-nr200-nr350.txt",
    ]  # fmt: skip
    assert {d["status"] for d in documents} == {"ready"}
    assert {d["progress"] for d in documents} == {1.0}
    detail = api.get(f"documents/{documents[0]['id']}/").json()
    assert detail["workspace"] == "handbook" and detail["chunks_total"] > 0

    first = api.get("workspaces/handbook/documents/", {"limit": 1}).json()
    assert first["count"] == 2 and [d["id"] for d in first["results"]] == [documents[0]["id"]]
    second = api.get(first["next"].split("/api/v1/", 1)[1]).json()
    assert [d["id"] for d in second["results"]] == [documents[1]["id"]]
    assert second["next"] is None and second["previous"] is not None


def test_editor_key_uploads_replaces_and_deletes_a_document_and_the_audit_log_names_it(
    db: None, api_org: ApiOrg
):
    issued = key_issue(api_org, scopes=["read", "ingest"], workspaces=[api_org.handbook],
                       level="editor", name="Sync job")  # fmt: skip
    api = api_client(api_org, issued)

    created = api.upload("workspaces/handbook/documents/", {
        "file": upload("parking.md", b"# Parking\n\nStaff park on level 2 of the garage."),
        "title": "Parking rules",
    })  # fmt: skip
    assert created.status_code == 201, created.content
    document = created.json()
    assert (document["title"], document["status"], document["version"]) == (
        "Parking rules", DocumentStatus.QUEUED, 1,
    )  # fmt: skip
    assert api.get(f"documents/{document['id']}/").json()["status"] == DocumentStatus.QUEUED

    replaced = api.upload(
        f"documents/{document['id']}/",
        {"file": upload("parking.md", b"# Parking\n\nStaff park on level 3 now.")},
        method="put",
    )
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["version"] == 2

    assert api.delete(f"documents/{document['id']}/").status_code == 204
    assert_problem(api.get(f"documents/{document['id']}/"), 404)
    with tenant_context(api_org.organization):
        assert not Document.objects.filter(pk=document["id"]).exists()
        actions = list(
            AuditEvent.objects.filter(target_label="Parking rules")
            .order_by("pk")
            .values_list("action", "actor_label")
        )
    account = issued.key.service_account.email
    assert actions == [
        (AuditAction.DOCUMENT_UPLOADED, account),
        (AuditAction.DOCUMENT_REPLACED, account),
        (AuditAction.DOCUMENT_DELETED, account),
    ]


def test_uploading_the_same_content_twice_is_a_readable_400(db: None, api_org: ApiOrg):
    issued = key_issue(api_org, scopes=["ingest", "read"], workspaces=[api_org.handbook],
                       level="editor")  # fmt: skip
    api = api_client(api_org, issued)
    copy = (SAMPLES / "employee-handbook-time-off.md").read_bytes()
    again = api.upload("workspaces/handbook/documents/", {"file": upload("copy.md", copy)})
    problem = assert_problem(again, 400)
    assert "same content" in problem["detail"]


def test_search_returns_passages_with_each_legs_rank(db: None, api_org: ApiOrg):
    issued = key_issue(api_org, scopes=["read"], workspaces=[api_org.handbook, api_org.finance])
    api = api_client(api_org, issued)

    results = api.get("search/", {"q": "hotel nightly limit in London", "k": 5}).json()
    assert 0 < len(results) <= 5
    top = results[0]
    assert "travel" in top["document_title"].lower()
    assert top["vector_rank"] is not None and top["lexical_rank"] is not None
    assert {"vector_score", "lexical_score", "score", "page", "heading_path"} <= set(top)

    scoped = api.get("search/", {"q": "hotel nightly limit", "workspace": "handbook"}).json()
    assert "travel" not in " ".join(r["document_title"].lower() for r in scoped)


def test_ask_answers_with_citations_and_keeps_the_conversation_like_the_ask_page(
    db: None, api_org: ApiOrg
):
    issued = key_issue(api_org, scopes=["ask"], workspaces=[api_org.handbook])
    api = api_client(api_org, issued)
    with tenant_context(api_org.organization):
        account = billing_account_get(organization=api_org.organization)
        asked_before = questions_used(
            organization=api_org.organization, period=period_current(account=account)
        )

    answered = api.post("ask/", {"question": "How many vacation days do employees get per year?"})
    assert answered.status_code == 200, answered.content
    body = answered.json()
    message = body["message"]
    assert message["status"] == "done" and message["answered"] is True
    assert "[1]" in message["text"]
    assert message["citations"][0]["document_title"]
    assert message["citations"][0]["quote"]
    with tenant_context(api_org.organization):
        assert questions_used(
            organization=api_org.organization, period=period_current(account=account)
        ) == (asked_before + 1)

    follow_up = api.post(
        "ask/",
        {"question": "and can I carry them over?", "conversation": body["conversation"]["id"]},
    )
    assert follow_up.status_code == 200
    assert follow_up.json()["conversation"]["id"] == body["conversation"]["id"]

    listed = api.get("conversations/").json()
    assert [c["id"] for c in listed["results"]] == [body["conversation"]["id"]]
    thread = api.get(f"conversations/{body['conversation']['id']}/").json()
    assert [m["role"] for m in thread["messages"]] == ["user", "assistant", "user", "assistant"]
    messages = api.get(f"conversations/{body['conversation']['id']}/messages/").json()
    assert messages[0]["text"] == "How many vacation days do employees get per year?"

    rated = api.post(
        f"messages/{message['id']}/feedback/", {"rating": "down", "comment": "Which country?"}
    )
    assert rated.status_code == 200
    assert rated.json()["rating"] == -1
    with tenant_context(api_org.organization):
        feedback = Feedback.objects.get(message_id=message["id"])
        assert (feedback.rating, feedback.comment) == (-1, "Which country?")
        assert Message.objects.get(pk=message["id"]).conversation.user == issued.key.service_account


def test_a_question_the_documents_cannot_answer_says_so_and_costs_no_question(
    db: None, api_org: ApiOrg
):
    issued = key_issue(api_org, scopes=["ask"], workspaces=[api_org.handbook])
    answered = api_client(api_org, issued).post(
        "ask/", {"question": "What is the airspeed velocity of an unladen swallow?"}
    )
    assert answered.status_code == 200
    assert answered.json()["message"]["answered"] is False
    assert answered.json()["message"]["citations"] == []
