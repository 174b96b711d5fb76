"""Errors are RFC 9457 problem details with a sentence a person understands, never a 500."""

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
