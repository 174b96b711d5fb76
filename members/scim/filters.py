"""SCIM filters (RFC 7644 §3.4.2.2), parsed by scim2-models, as Django queries: the directory
asks `userName eq "…"` before it creates anyone, and we answer from SQL, not by matching
every member in Python."""

from collections.abc import Callable, Mapping
from functools import reduce
from operator import and_, or_
from typing import Any

from django.db.models import Q
from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

# String comparisons are case-insensitive (RFC 7643 §2.2: caseExact is false for these).
LOOKUPS = {
    CompareOperator.eq: "iexact",
    CompareOperator.co: "icontains",
    CompareOperator.sw: "istartswith",
    CompareOperator.ew: "iendswith",
    CompareOperator.gt: "gt",
    CompareOperator.ge: "gte",
    CompareOperator.lt: "lt",
    CompareOperator.le: "lte",
}

# An attribute, lower-cased ("name.familyname"), and the Q for "it <lookup> value".
Field = Callable[[str, Any], Q]


def _field(*columns: str) -> Field:
    def query(lookup: str, value: Any) -> Q:
        return reduce(or_, (Q(**{f"{column}__{lookup}": value}) for column in columns))

    return query


def _id(lookup: str, value: Any) -> Q:
    # Our ids are numbers; any other text names nobody.
    if lookup != "iexact" or not str(value).isdigit():
        return Q(pk__in=[])
    return Q(pk=int(value))


def _user_name(lookup: str, value: Any) -> Q:
    # A member the directory has not linked yet is known by their address.
    return Q(**{f"provisioning__user_name__{lookup}": value}) | Q(
        provisioning__isnull=True, **{f"email__{lookup}": value}
    )


def _member(lookup: str, value: Any) -> Q:
    if lookup != "iexact" or not str(value).isdigit():
        return Q(pk__in=[])
    return Q(user__pk=int(value))


def _active(lookup: str, value: Any) -> Q:
    if lookup != "iexact" or not isinstance(value, bool):
        raise InvalidFilterException(detail="active is compared with eq true or eq false.")
    return Q(is_active=value)


USER_FIELDS: Mapping[str, Field] = {
    "id": _id,
    "username": _user_name,
    "externalid": _field("provisioning__external_id"),
    "emails": _field("email"),
    "emails.value": _field("email"),
    "displayname": _field("full_name"),
    "name.formatted": _field("full_name"),
    "name.givenname": _field("provisioning__given_name"),
    "name.familyname": _field("provisioning__family_name"),
    "active": _active,
}

GROUP_FIELDS: Mapping[str, Field] = {
    "id": _id,
    "displayname": _field("name"),
    "externalid": _field("provisioning__external_id"),
    "members": _member,
    "members.value": _member,
}


def _name(attr: str, sub_attr: str | None) -> str:
    return f"{attr}.{sub_attr}".lower() if sub_attr else attr.lower()


def _query(node: FilterNode, fields: Mapping[str, Field], prefix: str = "") -> Q:
    if isinstance(node, LogicalExpr):
        combine = and_ if node.op == LogicalOperator.and_ else or_
        return reduce(combine, (_query(term, fields, prefix) for term in node.terms))
    if isinstance(node, Not):
        return ~_query(node.expr, fields, prefix)
    if isinstance(node, ValuePath):
        # emails[value eq "x"] is emails.value eq "x" for the one address a member has.
        return _query(node.val_filter, fields, prefix=f"{node.attr_path.attr}.")
    if isinstance(node, Present | Comparison):
        name = prefix.lower() + _name(node.attr_path.attr, node.attr_path.sub_attr)
        field = fields.get(name)
        if field is None:
            known = ", ".join(sorted(fields))
            raise InvalidFilterException(
                detail=f"Filtering on {name} is not supported here; filter on one of: {known}."
            )
        if isinstance(node, Present):
            return ~field("isnull", True) & ~field("exact", "")
        if node.op == CompareOperator.ne:
            return ~field("iexact", node.value)
        return field(LOOKUPS[node.op], node.value)
    raise InvalidFilterException(detail=f"This filter is not supported: {node}.")


def filter_query(text: str, *, fields: Mapping[str, Field]) -> Q:
    """The Q that selects what `text` selects, or InvalidFilterException saying why not."""
    return _query(ScimFilter(text).ast, fields)
