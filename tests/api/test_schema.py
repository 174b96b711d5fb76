"""The OpenAPI 3 schema is valid (drf-spectacular's validator, warnings as failures) and the
docs page is served from our own static files."""

import pytest
from django.core.management import call_command

from tests.api.conftest import ApiOrg
from tests.conftest import client_for


def test_schema_validates_without_warnings(tmp_path):
    output = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(output))
    schema = output.read_text()
    for path in ("/api/v1/ask/", "/api/v1/search/", "/api/v1/workspaces/{slug}/documents/",
                 "/api/v1/documents/{document_id}/", "/api/v1/messages/{message_id}/feedback/",
                 "/api/v1/conversations/{conversation_id}/messages/"):  # fmt: skip
        assert f"{path}:" in schema
    assert "scheme: bearer" in schema


@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/", "/api/v1/docs/?script="])
def test_schema_and_docs_are_served_on_an_organizations_host(db: None, api_org: ApiOrg, path):
    response = client_for(api_org.organization).get(path)
    assert response.status_code == 200
    if path == "/api/v1/docs/":
        page = response.content.decode()
        assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
        assert "<style" not in page and "<script>" not in page
