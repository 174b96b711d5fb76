"""An organization of its own for the API's tests: three workspaces with sample documents,
ingested through the real pipeline and committed once per session (dropped at the end), and
a client that calls /api/v1/ on its host with a real key."""

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django_tenants.utils import tenant_context

from accounts.models import User
from api.services import IssuedKey, api_key_create
from members.actions.signup import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.factories import OWNER_PASSWORD
from tests.files import sample_workspaces
from workspaces.models import Workspace, WorkspaceRole


@dataclass(frozen=True)
class ApiOrg:
    organization: Organization
    owner: User
    handbook: Workspace  # restricted: time off, product FAQ
    finance: Workspace  # restricted: travel and expenses
    open: Workspace  # open to every member: code of conduct


@pytest.fixture(scope="session")
def api_org(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiOrg]:
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("api")):
        organization, owner = organization_signup(
            name="Contoso Tools",
            slug="contoso",
            owner_email="owner@contoso.example",
            owner_password=OWNER_PASSWORD,
        )
        with tenant_context(organization):
            handbook, finance, everyone = sample_workspaces(owner=owner)
        schema_public_activate()
        try:
            yield ApiOrg(organization, owner, handbook, finance, everyone)
        finally:
            schema_public_activate()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)


def key_issue(
    org: ApiOrg,
    *,
    scopes: Sequence[str] = ("read", "ask", "ingest"),
    workspaces: Sequence[Workspace] = (),
    level: str = WorkspaceRole.VIEWER,
    name: str = "Integration",
    expires_at: Any = None,
) -> IssuedKey:
    with tenant_context(org.organization):
        return api_key_create(
            actor=org.owner, name=name, scopes=scopes, level=level, expires_at=expires_at,
            workspace_ids=[workspace.pk for workspace in workspaces],
        )  # fmt: skip


class ApiClient:
    """Django's test client on the organization's host, sending `Authorization: Bearer`."""

    def __init__(self, organization: Organization, secret: str | None) -> None:
        self.client = Client(HTTP_HOST=f"{organization.slug}.{settings.BASE_DOMAIN}")
        self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.get(f"/api/v1/{path}", params or {}, headers={**self.headers, **headers})

    def post(self, path: str, data: Any = None, **headers: str) -> Any:
        return self.client.post(
            f"/api/v1/{path}", json.dumps(data or {}), content_type="application/json",
            headers={**self.headers, **headers},
        )  # fmt: skip

    def patch(self, path: str, data: Any = None, **headers: str) -> Any:
        return self.client.patch(
            f"/api/v1/{path}", json.dumps(data or {}), content_type="application/json",
            headers={**self.headers, **headers},
        )  # fmt: skip

    def upload(self, path: str, files: dict[str, Any], method: str = "post") -> Any:
        send = self.client.post if method == "post" else self._put_multipart
        return send(f"/api/v1/{path}", files, headers=self.headers)

    def _put_multipart(self, path: str, data: dict[str, Any], headers: dict[str, str]) -> Any:
        from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

        return self.client.put(
            path, encode_multipart(BOUNDARY, data), content_type=MULTIPART_CONTENT, headers=headers
        )

    def delete(self, path: str) -> Any:
        return self.client.delete(f"/api/v1/{path}", headers=self.headers)


def api_client(org: ApiOrg, issued: IssuedKey | None) -> ApiClient:
    return ApiClient(org.organization, issued.secret if issued else None)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """An RFC 9457 problem detail with this status and a readable sentence."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] and body["title"]
    assert isinstance(body["detail"], str) and len(body["detail"]) > 10
    return body
