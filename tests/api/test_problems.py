"""Errors are RFC 9457 problem details with a sentence a person understands, never a 500."""

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.api.conftest import ApiOrg, api_client, assert_problem, key_issue


def test_validation_errors_name_each_field(db: None, api_org: ApiOrg):
    api = api_client(api_org, key_issue(api_org, workspaces=[api_org.handbook], level="editor"))
    problem = assert_problem(api.post("ask/", {"question": "", "conversation": "x"}), 400)
    assert problem["type"] == "/api/v1/problems/validation-error"
    assert set(problem["errors"]) == {"question", "conversation"}
    assert "question" in problem["detail"]

    too_long = assert_problem(api.post("ask/", {"question": "why " * 1000}), 400)
    assert "2000 characters" in too_long["detail"]
    assert_problem(api.get("search/", {"q": "x", "k": "many", "mode": "psychic"}), 400)
    assert_problem(api.upload("workspaces/handbook/documents/", {"title": "No file"}), 400)
    assert_problem(api.post("messages/1/feedback/", {"rating": "meh"}), 404)


def test_malformed_bodies_unknown_paths_and_methods_are_problems(db: None, api_org: ApiOrg):
    api = api_client(api_org, key_issue(api_org, workspaces=[api_org.handbook]))
    malformed = api.client.post(
        "/api/v1/ask/", "{not json", content_type="application/json", headers=api.headers
    )
    assert assert_problem(malformed, 400)["type"] == "/api/v1/problems/malformed-request"
    assert_problem(api.get("nothing-here/"), 404)
    assert_problem(api.get("documents/99999999999999999999999/"), 404)
    assert_problem(api.delete("workspaces/"), 405)
    not_acceptable = api.get("workspaces/", Accept="application/xml")
    assert not_acceptable.status_code == 406
    unsupported = api.client.post(
        "/api/v1/ask/", "question=hi", content_type="text/plain", headers=api.headers
    )
    assert_problem(unsupported, 415)


def test_an_unknown_body_field_is_a_400_naming_it_and_starts_nothing(db: None, api_org: ApiOrg):
    api = api_client(api_org, key_issue(api_org, workspaces=[api_org.handbook], level="editor"))
    before = api.get("conversations/").json()["count"]
    problem = assert_problem(
        api.post("ask/", {"question": "How many vacation days?", "conversation_id": 1}), 400
    )
    assert list(problem["errors"]) == ["conversation_id"]
    assert problem["detail"].startswith("conversation_id: This field is not known here;")
    assert "question, conversation, workspaces" in problem["detail"]
    assert api.get("conversations/").json()["count"] == before

    upload = api.upload(
        "workspaces/handbook/documents/",
        {"file": SimpleUploadedFile("a.md", b"# A\n\nText."), "tag": "policy"},
    )
    assert list(assert_problem(upload, 400)["errors"]) == ["tag"]


def test_list_pages_refuse_a_limit_or_offset_that_is_no_whole_number(db: None, api_org: ApiOrg):
    api = api_client(api_org, key_issue(api_org, workspaces=[api_org.handbook]))
    for path in ("conversations/", "workspaces/handbook/documents/"):
        for query in ({"offset": "null"}, {"offset": "-1"}, {"limit": "0"}, {"limit": "501"}):
            problem = assert_problem(api.get(path, query), 400)
            assert list(problem["errors"]) == list(query)
            assert "whole number" in problem["detail"]
    assert api.get("workspaces/handbook/documents/", {"limit": "1", "offset": "1"}).json()[
        "results"
    ]


def test_errors_are_lists_of_sentences_per_field_as_the_schema_says(db: None, api_org: ApiOrg):
    api = api_client(api_org, key_issue(api_org, workspaces=[api_org.handbook], level="editor"))
    search = assert_problem(
        api.get("search/", {"q": "x", "workspace": ["handbook", "no slug!"]}), 400
    )
    ask = assert_problem(api.post("ask/", {"question": "Why?", "tags": ["ok", "<b>"]}), 400)
    upload = assert_problem(
        api.upload("workspaces/handbook/documents/", {"file": "not a file", "tags": ["a;b"]}), 400
    )
    for problem in (search, ask, upload):
        assert problem["errors"]
        for messages in problem["errors"].values():
            assert messages and all(isinstance(message, str) for message in messages)
    assert search["errors"]["workspace"][0].startswith("item 2: ")
    assert ask["errors"]["tags"][0].startswith("item 2: A tag may hold only letters")


def test_an_unknown_path_under_the_api_is_a_problem_even_with_a_newline(db: None, api_org: ApiOrg):
    api = api_client(api_org, key_issue(api_org, workspaces=[api_org.handbook]))
    assert_problem(api.get("workspaces/a%0Ab/documents/"), 404)
    assert_problem(api.get("workspaces/%0A/documents/"), 404)
