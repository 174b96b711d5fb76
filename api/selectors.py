"""Reads for the API: keys, and lookups by id that go through the access policy."""

import hmac

from django.db.models import QuerySet

from accounts.models import User
from api.key_format import prefix_of, secret_hash
from api.models import ApiKey
from connectors.models import Connector
from workspaces.access import documents_readable, workspace_ids_readable
from workspaces.models import Document, Workspace


def api_key_list() -> QuerySet[ApiKey]:
    return ApiKey.objects.select_related("created_by", "service_account")


def api_key_get(*, key_id: int) -> ApiKey | None:
    return ApiKey.objects.filter(pk=key_id).first()


def api_key_find(*, secret: str) -> ApiKey | None:
    """The key whose secret this is ("ka_<prefix>_<random>"), usable or not; None when no key
    has it. The prefix finds the row, the hash (compared in constant time) proves the key."""
    prefix = prefix_of(secret)
    if prefix is None:
        return None
    key = ApiKey.objects.filter(prefix=prefix).select_related("service_account").first()
    if key is None or not hmac.compare_digest(key.secret_hash, secret_hash(secret)):
        return None
    return key


def api_key_workspaces(*, key: ApiKey) -> QuerySet[Workspace]:
    """What the key's service account may read: the page lists it beside the key."""
    return Workspace.objects.filter(
        id__in=workspace_ids_readable(user=key.service_account)
    ).order_by("name")


def workspace_get_readable_by_slug(*, user: User, slug: str) -> Workspace | None:
    return Workspace.objects.filter(slug=slug, id__in=workspace_ids_readable(user=user)).first()


def document_get_readable_by_id(*, user: User, document_id: int) -> Document | None:
    return (
        documents_readable(user=user)
        .filter(pk=document_id)
        .select_related("workspace", "uploaded_by")
        .first()
    )


def connector_get_readable_by_id(*, user: User, connector_id: int) -> Connector | None:
    """A source of a workspace `user` may read (whether they may manage it is asked after,
    so that a reader meets a 403 and anyone else a 404)."""
    return (
        Connector.objects.filter(
            pk=connector_id, workspace_id__in=workspace_ids_readable(user=user)
        )
        .select_related("workspace")
        .first()
    )
