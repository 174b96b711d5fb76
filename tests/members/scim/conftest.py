"""A SCIM client: organization A's host with a SCIM token made through the service, as an
identity provider's directory would call it."""

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from members.actions.provisioning import provisioning_token_create
from tenants.models import Organization
from tests.conftest import client_for

SCIM_JSON = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


@dataclass
class ScimClient:
    """Sends SCIM requests with the token, as Okta and Entra do, and reads the JSON back."""

    client: Client
    secret: str

    def send(self, method: str, path: str, body: Any = None, **query: str) -> Any:
        call = getattr(self.client, method.lower())
        url = f"/scim/v2/{path}"
        headers = {"Authorization": f"Bearer {self.secret}"}
        if body is None:
            return call(url, query or None, headers=headers)
        return call(url, json.dumps(body), content_type=SCIM_JSON, headers=headers)


def payload(response: Any) -> Any:
    assert response["Content-Type"] == SCIM_JSON, response.content
    return json.loads(response.content)


def patch_op(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


@pytest.fixture
def scim(org_a: Organization, owner_a: User) -> ScimClient:
    issued = provisioning_token_create(actor=owner_a)
    return ScimClient(client=client_for(org_a), secret=issued.secret)
