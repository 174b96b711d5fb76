"""SCIM 2.0 (RFC 7644) at /scim/v2/ on the organization's host, for its identity provider's
directory (Okta, Microsoft Entra ID): Users and Groups, with the organization's SCIM token
as a bearer token. Every answer, refusals included, is SCIM JSON; a refusal is in SCIM's error
schema with a sentence for the directory's administrator."""

import json
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    Error,
    ETag,
    Filter,
    ListResponse,
    Patch,
    PatchOp,
    ResourceType,
    ResponseParameters,
    SCIMException,
    ServiceProviderConfig,
    Sort,
)
from scim2_models import Group as ScimGroup

from accounts.models import User
from members.actions.provisioning import (
    ProvisioningError,
    provisioned_group_create,
    provisioned_group_delete,
    provisioned_group_update,
    provisioned_member_create,
    provisioned_member_delete,
    provisioned_member_update,
    provisioning_token_touch,
)
from members.models import ProvisioningToken
from members.scim.filters import GROUP_FIELDS, USER_FIELDS, Field, filter_query
from members.scim.resources import (
    POLICY,
    ScimUser,
    dump,
    group_member_ids,
    group_resource,
    record_from,
    user_resource,
)
from members.selectors import provisioned_groups, provisioned_people, provisioning_token_find

CONTENT_TYPE = "application/scim+json"
PAGE_SIZE_DEFAULT = 100
PAGE_SIZE_MAX = 200


class ScimRequest(HttpRequest):
    scim_token: ProvisioningToken


ScimView = Callable[..., HttpResponse]


def _answer(payload: Mapping[str, Any], status: int = 200, location: str = "") -> HttpResponse:
    response = HttpResponse(json.dumps(payload), status=status, content_type=CONTENT_TYPE)
    if location:
        response["Location"] = location
    return response


def _refusal(status: int, detail: str, scim_type: str | None = None) -> HttpResponse:
    error = Error(status=status, scim_type=scim_type, detail=detail)
    return _answer(error.model_dump(), status=status)


def _token(request: HttpRequest) -> ProvisioningToken | None:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return provisioning_token_find(secret=secret.strip())


def scim_endpoint(view: ScimView) -> ScimView:
    """The token authenticates the request (a browser's session never does: no cookie, so no
    CSRF to guard against); refusals become SCIM errors."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request: ScimRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = _token(request)
        if token is None:
            response = _refusal(
                401, "Send this organization's SCIM token as “Authorization: Bearer <token>”; "
                "an owner makes one on Members → Single sign-on. A revoked token no longer works.",
            )  # fmt: skip
            response["WWW-Authenticate"] = 'Bearer realm="scim"'
            return response
        provisioning_token_touch(token=token)
        request.scim_token = token
        try:
            with POLICY:
                return view(request, *args, **kwargs)
        except ProvisioningError as refusal:
            return _refusal(refusal.status, refusal.detail, refusal.scim_type)
        except ValidationError as invalid:
            error = Error.from_validation_errors(invalid)[0]
            return _answer(error.model_dump(), status=int(error.status or 400))
        except SCIMException as refused:
            error = refused.to_error()
            return _answer(error.model_dump(), status=int(error.status or 400))

    return wrapped


def _body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ProvisioningError(
            "The request body is not JSON.", scim_type="invalidSyntax"
        ) from None


def _method_refused(request: HttpRequest) -> HttpResponse:
    return _refusal(405, f"{request.method} is not supported on {request.path}.")


def _not_found(kind: str, identifier: str) -> ProvisioningError:
    return ProvisioningError(f"No {kind} has the id {identifier}.", status=404)


def _page_number(request: HttpRequest, name: str, default: int) -> int:
    text = request.GET.get(name, "")
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ProvisioningError(
            f"{name} must be a whole number, not “{text}”.", scim_type="invalidValue"
        ) from None


def _listing(
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    fields: Mapping[str, Field],
    model: Any,
    resource: Callable[[Any], Any],
) -> HttpResponse:
    """A page of `queryset` as a ListResponse: filter, startIndex (1-based), count."""
    if request.GET.get("filter"):
        queryset = queryset.filter(filter_query(request.GET["filter"], fields=fields)).distinct()
    # RFC 7644 §3.4.2.4: a startIndex below 1 is 1, a negative count is 0.
    start = max(1, _page_number(request, "startIndex", 1))
    count = min(PAGE_SIZE_MAX, max(0, _page_number(request, "count", PAGE_SIZE_DEFAULT)))
    page = list(queryset[start - 1 : start - 1 + count])
    listing = ListResponse[model](
        total_results=queryset.count(),
        start_index=start,
        items_per_page=len(page),
        resources=[resource(item) for item in page],
    )
    return _answer(dump(listing, response_parameters=_parameters(request, model)))


def _parameters(request: HttpRequest, model: Any) -> Any:
    """attributes / excludedAttributes (Entra asks for groups without their members)."""
    return ResponseParameters[model].model_validate(
        {
            "attributes": request.GET.get("attributes") or None,
            "excludedAttributes": request.GET.get("excludedAttributes") or None,
        }
    )


def _resource_answer(
    request: HttpRequest, resource: Any, *, model: Any, location: str, status: int = 200
) -> HttpResponse:
    parameters = _parameters(request, model)
    return _answer(dump(resource, response_parameters=parameters), status, location)


def _wanted_state(request: HttpRequest, model: Any, current: Callable[[], Any]) -> Any:
    """The resource as a PUT or PATCH wants it: the PUT's body, or the PATCH's operations
    applied to the `current` resource (scim2-models applies them, all or none)."""
    if request.method == "PUT":
        return model.model_validate(_body(request), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    patch = PatchOp[model].model_validate(_body(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    resource = current()
    patch.patch(resource)
    return resource


def _user_location(request: HttpRequest, member_id: int) -> str:
    return request.build_absolute_uri(reverse("scim:user", args=[member_id]))


def _user(request: HttpRequest, member: User) -> ScimUser:
    return user_resource(member, location=_user_location(request, member.pk))


def _user_answer(request: HttpRequest, member: User, status: int = 200) -> HttpResponse:
    location = _user_location(request, member.pk)
    resource = user_resource(member, location=location)
    return _resource_answer(request, resource, model=ScimUser, location=location, status=status)


def _person(member_id: int) -> User:
    member = provisioned_people().filter(pk=member_id).first()
    if member is None:
        raise _not_found("user", str(member_id))
    return member


@scim_endpoint
def users(request: ScimRequest) -> HttpResponse:
    if request.method == "GET":
        return _listing(
            request, provisioned_people(), fields=USER_FIELDS, model=ScimUser,
            resource=lambda member: _user(request, member),
        )  # fmt: skip
    if request.method != "POST":
        return _method_refused(request)
    resource = ScimUser.model_validate(_body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    record = record_from(resource, active_when_absent=True)
    member = provisioned_member_create(token=request.scim_token, record=record)
    return _user_answer(request, _person(member.pk), status=201)


@scim_endpoint
def user(request: ScimRequest, member_id: int) -> HttpResponse:
    member = _person(member_id)
    if request.method == "GET":
        return _user_answer(request, member)
    if request.method == "DELETE":
        provisioned_member_delete(token=request.scim_token, member=member)
        return HttpResponse(status=204)
    if request.method not in ("PUT", "PATCH"):
        return _method_refused(request)
    resource = _wanted_state(request, ScimUser, lambda: _user(request, member))
    record = record_from(resource, active_when_absent=member.is_active)
    provisioned_member_update(token=request.scim_token, member=member, record=record)
    return _user_answer(request, _person(member_id))


def _group_location(request: HttpRequest, group_id: int) -> str:
    return request.build_absolute_uri(reverse("scim:group", args=[group_id]))


def _group(request: HttpRequest, group: Group) -> ScimGroup:
    return group_resource(group, location=_group_location(request, group.pk))


def _group_answer(request: HttpRequest, group: Group, status: int = 200) -> HttpResponse:
    location = _group_location(request, group.pk)
    resource = group_resource(group, location=location)
    return _resource_answer(request, resource, model=ScimGroup, location=location, status=status)


def _group_of(group_id: int) -> Group:
    group = provisioned_groups().filter(pk=group_id).first()
    if group is None:
        raise _not_found("group", str(group_id))
    return group


def _display_name(resource: ScimGroup) -> str:
    name = (resource.display_name or "").strip()
    if not name:
        raise ProvisioningError("displayName is required.", scim_type="invalidValue")
    return name


@scim_endpoint
def groups(request: ScimRequest) -> HttpResponse:
    if request.method == "GET":
        return _listing(
            request, provisioned_groups(), fields=GROUP_FIELDS, model=ScimGroup,
            resource=lambda group: _group(request, group),
        )  # fmt: skip
    if request.method != "POST":
        return _method_refused(request)
    resource = ScimGroup.model_validate(_body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    group = provisioned_group_create(
        token=request.scim_token, name=_display_name(resource),
        external_id=resource.external_id or "", member_ids=group_member_ids(resource),
    )  # fmt: skip
    return _group_answer(request, _group_of(group.pk), status=201)


@scim_endpoint
def group(request: ScimRequest, group_id: int) -> HttpResponse:
    group = _group_of(group_id)
    if request.method == "GET":
        return _group_answer(request, group)
    if request.method == "DELETE":
        provisioned_group_delete(token=request.scim_token, group=group)
        return HttpResponse(status=204)
    if request.method not in ("PUT", "PATCH"):
        return _method_refused(request)
    resource = _wanted_state(request, ScimGroup, lambda: _group(request, group))
    provisioned_group_update(
        token=request.scim_token, group=group, name=_display_name(resource),
        external_id=resource.external_id or "", member_ids=group_member_ids(resource),
    )  # fmt: skip
    return _group_answer(request, _group_of(group_id))


@scim_endpoint
def service_provider_config(request: ScimRequest) -> HttpResponse:
    config = ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=PAGE_SIZE_MAX),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                primary=True,
                description="The organization's SCIM token, made on Members → Single sign-on.",
            )
        ],
    )
    return _answer(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@scim_endpoint
def resource_types(request: ScimRequest) -> HttpResponse:
    types = [ResourceType.from_resource(ScimUser), ResourceType.from_resource(ScimGroup)]
    listing = ListResponse[ResourceType](
        total_results=len(types), start_index=1, items_per_page=len(types), resources=types
    )
    return _answer(listing.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
