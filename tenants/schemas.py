"""Typed access to the schema django-tenants has put in force on the connection."""

from typing import Any

from django.db import connection
from django_tenants.utils import get_public_schema_name


def schema_name_current() -> str:
    return str(connection.schema_name)  # type: ignore[attr-defined]


def tenant_current() -> Any:
    """The tenant (an Organization, or a FakeTenant for a bare schema name) in force."""
    return connection.tenant  # type: ignore[attr-defined]


def schema_public_activate() -> None:
    connection.set_schema_to_public()  # type: ignore[attr-defined]


def schema_is_public() -> bool:
    return schema_name_current() == get_public_schema_name()
