"""The OpenAPI 3 schema is valid (drf-spectacular's validator, warnings as failures) and the
docs page is served from our own static files."""

import pytest
import yaml
from django.core.management import call_command

from tests.api.conftest import ApiOrg
from tests.conftest import client_for


def test_schema_validates_without_warnings(tmp_path):
    output = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(output))
    schema = output.read_text()
    for path in ("/api/v1/ask/", "/api/v1/search/", "/api/v1/workspaces/{slug}/documents/",
                 "/api/v1/documents/{document_id}/", "/api/v1/messages/{message_id}/feedback/",
                 "/api/v1/conversations/{conversation_id}/messages/",
                 "/api/v1/workspaces/{slug}/sources/", "/api/v1/sources/{connector_id}/",
                 "/api/v1/sources/{connector_id}/sync/"):  # fmt: skip
        assert f"{path}:" in schema
    assert "scheme: bearer" in schema
    # Credentials are accepted and never described as returned.
    components = yaml.safe_load(schema)["components"]["schemas"]
    assert {"password", "key_file", "api_token", "token", "client_secret"} <= {
        name for kind in ("Website", "GoogleDrive", "Confluence", "Notion", "Microsoft")
        for name in components[f"{kind}SourceInputRequest"]["properties"]
    }  # fmt: skip
    assert "has_credentials" in components["Connector"]["properties"]
    assert not {"password", "key_file", "api_token", "token", "client_secret"} & set(
        components["Connector"]["properties"]
    )


@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/", "/api/v1/docs/?script="])
def test_schema_and_docs_are_served_on_an_organizations_host(db: None, api_org: ApiOrg, path):
    response = client_for(api_org.organization).get(path)
    assert response.status_code == 200
    if path == "/api/v1/docs/":
        page = response.content.decode()
        assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
        assert "<style" not in page and "<script>" not in page
