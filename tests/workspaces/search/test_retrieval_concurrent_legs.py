"""Outside a transaction the vector leg runs on a connection of its own, beside the lexical
leg on the caller's (RETRIEVAL_CONCURRENT_LEGS): the same passages come back, in the same
order with the same scores, as from the one statement, and what the searcher may not read
stays out of both legs."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from accounts.models import Role, User
from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD, make_member
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.search.retrieval import RetrievedChunk, chunks_retrieve
from workspaces.services import document_create_from_text, workspace_create

OPEN = {
    "Annual leave": "Full-time staff receive twenty-five days of annual leave each year.",
    "Carry over": "Up to five days of unused leave carry over into the next year.",
    "Expenses": "Submit expense claims within thirty days with the original receipts.",
    "Laptops": "Laptops are replaced every three years by the IT service desk.",
}
SECRET = {"Board leave": "Board members receive forty days of annual leave, privately."}


@pytest.fixture
def organization(django_db_setup: None, django_db_blocker: Any) -> Iterator[tuple[Any, User]]:
    with django_db_blocker.unblock():
        organization, owner = organization_signup(
            name="Legs", slug="legs-test", owner_email="boss@legs.example",
            owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        try:
            with tenant_context(organization):
                handbook = workspace_create(actor=owner, name="Handbook", is_open=True)
                board = workspace_create(actor=owner, name="Board")
                documents = [
                    document_create_from_text(actor=owner, workspace=space, title=t, text=text)
                    for space, entries in ((handbook, OPEN), (board, SECRET))
                    for t, text in entries.items()
                ]
                documents_ingest(document_ids=[document.pk for document in documents])
                member = make_member(email="reader@legs.example", role=Role.MEMBER)
            yield organization, member
        finally:
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


def _search(user: User, query: str) -> tuple[list[RetrievedChunk], list[str]]:
    """The results, and the statements this thread's connection ran for them."""
    statements: list[str] = []

    def recorded(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(recorded):
        return chunks_retrieve(user=user, query=query, k=5), statements


def test_the_legs_apart_find_what_one_statement_finds(
    organization: tuple[Organization, User], settings: Any, django_db_blocker: Any
) -> None:
    org, member = organization
    with django_db_blocker.unblock(), tenant_context(org):
        for query in ("how many days of annual leave", "laptop replacement", "expense receipts"):
            settings.RETRIEVAL_CONCURRENT_LEGS = False
            together, statements_together = _search(member, query)
            settings.RETRIEVAL_CONCURRENT_LEGS = True
            apart, statements_apart = _search(member, query)

            assert together and apart == together
            assert all(chunk.vector_rank and chunk.lexical_rank for chunk in apart[:1])
            assert "Board members" not in " ".join(chunk.text for chunk in apart)
            # One statement held both legs; apart, this connection ran no vector search.
            assert any("<=>" in sql for sql in statements_together)
            assert not any("<=>" in sql for sql in statements_apart)
    schema_public_activate()
