"""The plan's per-minute limits on asking and ingesting, per key and per person, counted in
Redis: past them, 429 with Retry-After, on the API and on the Ask page alike."""

from billing.models import Plan
from tests.api.conftest import ApiOrg, api_client, assert_problem, key_issue
from tests.conftest import signed_in
from tests.files import upload


def _limits(asks: int, ingests: int) -> None:
    # Every organization of the tests is on the Free plan; the test's transaction undoes this.
    Plan.objects.filter(slug="free").update(asks_per_minute=asks, ingests_per_minute=ingests)


def test_asking_past_the_plans_limit_is_429_with_retry_after(db: None, api_org: ApiOrg):
    _limits(asks=1, ingests=10)
    api = api_client(api_org, key_issue(api_org, scopes=["ask"], workspaces=[api_org.handbook]))
    assert api.post("ask/", {"question": "How many vacation days do we get?"}).status_code == 200

    refused = api.post("ask/", {"question": "And sick days?"})
    problem = assert_problem(refused, 429)
    assert problem["type"] == "/api/v1/problems/rate-limited"
    assert "1 questions this minute" in problem["detail"]
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert (
        api.get("conversations/").json()["results"][0]["title"]
        == "How many vacation days do we get?"
    )


def test_uploads_are_limited_per_key(db: None, api_org: ApiOrg):
    _limits(asks=10, ingests=1)
    first = api_client(api_org, key_issue(api_org, scopes=["ingest"], workspaces=[api_org.finance],
                                          level="editor"))  # fmt: skip
    second = api_client(api_org, key_issue(api_org, scopes=["ingest"], workspaces=[api_org.finance],
                                           level="editor"))  # fmt: skip
    path = "workspaces/finance/documents/"
    assert first.upload(path, {"file": upload("one.md", b"# One\n\nFirst.")}).status_code == 201
    refused = first.upload(path, {"file": upload("two.md", b"# Two\n\nSecond.")})
    assert "1 uploads this minute" in assert_problem(refused, 429)["detail"]
    assert int(refused["Retry-After"]) >= 1
    assert second.upload(path, {"file": upload("two.md", b"# Two\n\nSecond.")}).status_code == 201


def test_the_ask_page_is_limited_per_person_with_retry_after(db: None, api_org: ApiOrg):
    _limits(asks=2, ingests=10)
    browser = signed_in(api_org.organization, api_org.owner)
    for question in ("Code of conduct?", "Gifts from suppliers?"):
        asked = browser.post("/ask/", {"question": question}, headers={"HX-Request": "true"})
        assert asked.status_code == 200
    refused = browser.post("/ask/", {"question": "Conflicts of interest?"},
                           headers={"HX-Request": "true"})  # fmt: skip
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "2 questions this minute" in refused.content.decode()
    # The same person through the API shares that count.
    api = signed_in(api_org.organization, api_org.owner)
    assert (
        api.post("/api/v1/ask/", {"question": "Hi?"}, content_type="application/json").status_code
        == 429
    )


def test_the_minute_is_counted_from_the_first_question_not_the_clock(db: None, api_org: ApiOrg):
    """One question a minute means one in any sixty seconds: the second, asked straight
    after, waits for the first to be a minute old, whichever clock minute they fall in."""
    _limits(asks=1, ingests=10)
    api = api_client(api_org, key_issue(api_org, scopes=["ask"], workspaces=[api_org.handbook]))
    assert api.post("ask/", {"question": "How many vacation days do we get?"}).status_code == 200

    refused = api.post("ask/", {"question": "And sick days?"})

    assert_problem(refused, 429)
    # The first question took a few seconds at most; a clock minute would have left anything
    # from 1 to 60.
    assert 45 <= int(refused["Retry-After"]) <= 60
