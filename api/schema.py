"""What drf-spectacular cannot infer from the serializers, so that the OpenAPI schema says
what the server does: a request body takes only the fields it lists, and a day of the
updated-after filter is in the range the filter takes."""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent


class ClosedSerializerSchema(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    target_class = "api.serializers.ClosedSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: AutoSchema, direction: Any) -> Any:
        schema = auto_schema._map_serializer(  # type: ignore[no-untyped-call]
            self.target, direction, bypass_extensions=True
        )
        if isinstance(schema, dict) and not isinstance(schema, ResolvedComponent):
            schema["additionalProperties"] = False
        return schema


# The days the updated-after filter takes (workspaces.search.retrieval: from 1900-01-01 to
# 9999-12-30). OpenAPI 3.0 cannot bound a date, so a pattern states the same range.
UPDATED_AFTER_PATTERN = (
    r"^(19\d\d|[2-8]\d\d\d|9[0-8]\d\d|99[0-8]\d|999[0-8])-\d\d-\d\d$"
    r"|^9999-(0\d|1[01])-\d\d$|^9999-12-([0-2]\d|30)$"
)


class UpdatedAfterFieldSchema(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    target_class = "api.serializers.UpdatedAfterField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Any) -> Any:
        return {"type": "string", "format": "date", "pattern": UPDATED_AFTER_PATTERN}
