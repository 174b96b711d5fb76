"""The retrieval test page shows the passages that neither leg found relevant (no word of
the query, a vector similarity at or under the floor) under a "Below the relevance floor"
heading instead of as equals of the ones that answer."""

from typing import Any

import pytest

from accounts.models import User
from tenants.models import Organization
from tests.assistant.conftest import documents_ingested
from tests.conftest import signed_in
from workspaces.models import Workspace

DOCUMENTS = {
    "leave.md": b"# Leave\n\n## Vacation\n\nFull-time employees get 25 vacation days a year.\n",
    "robots.md": b"# Robots\n\n## Warranty\n\nThe NR-200 robot has a 24-month warranty.\n",
}
DIVIDER = "Below the relevance floor</h2>"


@pytest.fixture
def corpus(org_a: Organization, owner_a: User, workspace: Workspace) -> Workspace:
    documents_ingested(owner_a, workspace, DOCUMENTS)
    return workspace


def test_passages_without_query_words_and_close_meaning_are_listed_below_the_floor(
    corpus: Workspace, org_a: Organization, owner_a: User, settings: Any
):
    # A floor no vector similarity reaches: only the lexical match stays above it.
    settings.RETRIEVAL_RELEVANCE_FLOOR = 0.99

    body = signed_in(org_a, owner_a).get(f"/w/{corpus.slug}/search/", {"q": "vacation"})

    above, divider, below = body.content.decode().partition(DIVIDER)
    assert divider
    assert "25 <mark>vacation</mark> days" in above and "warranty" not in above
    assert "24-month warranty" in below and "#2" in below


def test_nothing_above_the_floor_says_so(
    corpus: Workspace, org_a: Organization, owner_a: User, settings: Any
):
    settings.RETRIEVAL_RELEVANCE_FLOOR = 0.99

    body = signed_in(org_a, owner_a).get(f"/w/{corpus.slug}/search/", {"q": "xylophone"})

    html = body.content.decode()
    assert "Nothing relevant for “xylophone”" in html
    assert html.index(DIVIDER) < html.index("24-month warranty")


def test_with_the_default_floor_a_close_passage_stays_above_it(
    corpus: Workspace, org_a: Organization, owner_a: User
):
    body = signed_in(org_a, owner_a).get(f"/w/{corpus.slug}/search/", {"q": "annual leave"})

    above, _, _ = body.content.decode().partition(DIVIDER)
    assert "25 vacation days" in above
