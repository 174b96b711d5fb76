"""Every URL pattern of both URL confs and every form on their pages, fed bad input (NUL
bytes, huge numbers and texts, non-numeric ids, unicode control characters, odd file names,
dates at the ends of the calendar and dates that are none, wrong types in JSON bodies): no
answer may be a server error. The patterns come from the URL resolver and the API's fields
from its OpenAPI schema, so a new endpoint or field is walked without a change here.

Signed in as an organization's owner on its subdomain and as a platform operator on the
public site, as an anonymous visitor on both, and with an API key. Each request runs in a
savepoint that is rolled back afterwards, and the client's cookies are put back, so a
"delete" or "sign out" does not change what the next request finds."""

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

from accounts.models import Role, User
from api.services import api_key_create
from assistant.models import Conversation, Message, MessageRole, MessageStatus
from billing.models import BillingAccount, Plan
from connectors.models import Connector, SourceKind
from members.actions.groups import group_create, group_member_add
from members.actions.invitations import invitation_create
from tenants.models import Domain, Organization
from tenants.schemas import schema_public_activate
from tests.billing.conftest import stripe_server  # noqa: F401  (checkout and portal call it)
from tests.conftest import signed_in
from tests.factories import make_member
from workspaces.models import Workspace, WorkspaceRole
from workspaces.services import document_create_from_text, grant_set, workspace_create

# In a URL path, percent-encoded; the resolver decodes them before the converters see them.
BAD_PATH_VALUES = ["abc", "9" * 25, "%00", "%E2%80%AE%07", "-1", "%C0%AF", "x" * 300]
# The last two: a date a parser accepts but arithmetic on it overflows, and one no parser
# accepts.
BAD_FIELD_VALUES = ["\x00", "9" * 30, "x" * 20_000, "\u202e\u0007\u200b", "-1", "", "abc",
                    "9999-12-31", "0000-00-00"]  # fmt: skip
# Query strings: the field values that reach the most code, and the calendar's ends.
BAD_QUERY_VALUES = [*BAD_FIELD_VALUES[:5], "9999-12-31", "0000-00-00", "0001-01-01"]
# Every name a query string is read by somewhere, including the filters' and the API's.
QUERY_NAMES = ["q", "mode", "next", "token", "session_id", "slug", "page", "o", "p", "e", "_",
               "updated_after", "since", "until", "tags", "kinds", "person", "action", "k",
               "workspace", "tag", "kind", "offset", "limit", "scope", "conversation"]  # fmt: skip
# JSON values of every type, of which most are the wrong one for any given field.
BAD_JSON_VALUES: list[Any] = [
    None, True, -1, 10**30, 1.5, "\x00", "x" * 20_000, "9999-12-31", "0000-00-00",
    "\u202e\u0007", [], ["\x00"], {}, {"id": 1},
]  # fmt: skip
# Bodies that are not an object, or not JSON at all.
BAD_JSON_BODIES = [b"[]", b'"x"', b"1e999", b"null", b"{", b'{"a": "\\u0000"}', b"\xff\xfe"]
pytestmark = pytest.mark.usefixtures("stripe_server")


class Rolledback(Exception):
    pass


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  # boxes sent only when ticked


class FormParser(HTMLParser):
    """The forms of a page (action, method, fields with the values a person submitting it
    unchanged would send), and the URLs that htmx attributes post to."""

    # Inputs an empty value suits (their widgets cannot hold "x").
    TYPED = ("date", "datetime-local", "month", "time", "number", "email", "url", "range")

    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url, self.forms = page_url, list[Form]()
        self.current: Form | None = None
        self.select: str | None = None
        self.hx_posts: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if attributes.get("hx-post"):
            self.hx_posts.add(attributes["hx-post"])
        if tag == "form":
            method = "post" if "hx-post" in attributes else attributes.get("method", "get")
            action = attributes.get("hx-post") or attributes.get("hx-get") or ""
            self.current = Form(action=action or attributes.get("action") or self.page_url,
                                method=method.lower())  # fmt: skip
            self.forms.append(self.current)
        elif self.current is not None and tag == "option" and self.select:
            # A select sends its selected option, else its first.
            if self.select not in self.current.fields or "selected" in attributes:
                self.current.fields[self.select] = attributes.get("value", "")
        elif self.current is not None and tag in ("input", "textarea", "select"):
            name = attributes.get("name")
            if not name:
                return
            kind = attributes.get("type", "text")
            if kind == "file":
                self.current.files.append(name)
            elif tag == "select":
                self.select = name
            elif kind in ("checkbox", "radio"):
                if "checked" in attributes or (kind == "radio" and name not in self.current.fields):
                    self.current.fields[name] = attributes.get("value", "on")
                elif name not in self.current.fields:
                    self.current.unchecked.append(name)
            elif kind in self.TYPED:
                self.current.fields.setdefault(name, attributes.get("value", ""))
            else:  # text as a person would type it, where the page leaves it empty
                self.current.fields.setdefault(name, attributes.get("value") or "x")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None


def routes(urlconf: str) -> Iterator[tuple[str, list[str]]]:
    """Every pattern as a path template (`w/{slug}/`) with its parameter names."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[str]:
        for pattern in patterns:
            text = str(pattern.pattern)
            text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<str:\1>", text).lstrip("^").rstrip("$")
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + text)
            elif isinstance(pattern, URLPattern):
                yield prefix + text

    for template in walk(get_resolver(urlconf).url_patterns, ""):
        names = re.findall(r"<(?:\w+:)?(\w+)>", template)
        yield re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", template), names


@dataclass
class Walk:
    client: Client
    headers: dict[str, str] = field(default_factory=dict)  # sent with every request
    tried: int = 0
    errors: list[str] = field(default_factory=list)

    def attempt(self, method: str, path: str, data: Any = None, **extra: Any) -> str:
        """The request's status; its body when it was a 200 HTML page. `data` is a query
        (GET), a form (POST), or, with `content_type`, the raw body (any method)."""
        self.tried += 1
        cookies = copy.deepcopy(self.client.cookies)
        status, page = 0, ""
        extra = {**self.headers, **extra}
        try:
            with transaction.atomic():
                if "content_type" in extra:
                    response = self.client.generic(method.upper(), path, data or b"", **extra)
                elif method == "get":
                    response = self.client.get(path, data, **extra)
                else:
                    response = self.client.post(path, data or {}, **extra)
                if getattr(response, "streaming", False):
                    b"".join(response)  # an error inside a stream counts too
                elif response.status_code == 200 and "html" in response.get("Content-Type", ""):
                    page = response.content.decode(errors="replace")
                status = response.status_code
                raise Rolledback
        except Rolledback:
            pass
        except Exception as error:
            status = 500
            self.errors.append(f"{method.upper()} {path!r} {_short(data)}: {error!r}"[:400])
        finally:
            self.client.cookies = cookies
        if status >= 500 and not self.errors[-1:]:
            self.errors.append(f"{method.upper()} {path!r} {_short(data)}: HTTP {status}")
        return page

    def page_forms(self, path: str) -> tuple[list[Form], set[str]]:
        page = self.attempt("get", path)
        parser = FormParser(path)
        parser.feed(page)
        return parser.forms, parser.hx_posts

    def forms(self, path: str) -> None:
        forms, hx_posts = self.page_forms(path)
        for form in forms:
            action = urlsplit(form.action).path or path
            for name in [*form.fields, *dict.fromkeys(form.unchecked), *form.files]:
                for value in BAD_FIELD_VALUES:
                    data: dict[str, Any] = dict(form.fields)
                    for upload in form.files:
                        data[upload] = SimpleUploadedFile("notes.md", b"# Notes\n\nText.\n")
                    if name in form.files:
                        data[name] = SimpleUploadedFile(f"a{value[:50]}.md", b"# A\n\nB.\n")
                    else:
                        data[name] = value
                    if form.method == "get":
                        self.attempt("get", action, data)
                    else:
                        self.attempt("post", action, data)
                        if value in BAD_FIELD_VALUES[:2]:  # the partials htmx asks for
                            self.attempt("post", action, data, HTTP_HX_REQUEST="true")
        for action in hx_posts:
            for value in BAD_FIELD_VALUES:
                self.attempt("post", urlsplit(action).path, {"x": value, "rating": value})


def _real_value(real: dict[str, str], name: str, template: str) -> str:
    """`real["object_id@billing/plan/"]` is the id for that admin's pages; else `real[name]`."""
    for key, value in real.items():
        param, _, within = key.partition("@")
        if param == name and within and within in template:
            return value
    return real.get(name, "1")


def walk_urlconf(walk: Walk, urlconf: str, real: dict[str, str], *, forms: bool = True) -> None:
    # Pages that destroy or sign out go last; the rollback undoes them anyway.
    ordered = sorted(
        routes(urlconf),
        key=lambda route: any(word in route[0] for word in ("delete", "remove", "logout")),
    )
    for template, names in ordered:
        base = {name: _real_value(real, name, template) for name in names}
        path = "/" + template.format(**{k: quote(v) for k, v in base.items()})
        for name in names:
            for bad in BAD_PATH_VALUES:
                bad_path = "/" + template.format(**{**base, name: bad})
                walk.attempt("get", bad_path)
                if bad in BAD_PATH_VALUES[:4]:
                    walk.attempt("post", bad_path, {"name": "x"})
        for value in BAD_QUERY_VALUES:
            walk.attempt("get", path, dict.fromkeys(QUERY_NAMES, value))
            walk.attempt("post", path, dict.fromkeys(QUERY_NAMES, value))
        if forms:
            walk.forms(path)


@pytest.fixture
def organization_world(org_a: Organization, owner_a: User) -> dict[str, str]:
    """One of everything the tenant URLs name, with its real id."""
    member = make_member(email="walk-member@example.com")
    workspace = workspace_create(actor=owner_a, name="Walk")
    grant = grant_set(actor=owner_a, workspace=workspace, role=WorkspaceRole.VIEWER, grantee=member)
    document = document_create_from_text(
        actor=owner_a, workspace=workspace, title="Walk notes", text="Badges are worn."
    )
    group = group_create(actor=owner_a, name="Walkers")
    group_member_add(actor=owner_a, group=group, email=member.email)
    invitation = invitation_create(
        actor=owner_a, email="invitee@example.com", role=Role.MEMBER, site_root="http://x"
    )
    conversation = Conversation.objects.create(user=owner_a, title="Badges?")
    Message.objects.create(conversation=conversation, role=MessageRole.USER, text="Badges?")
    answer = Message.objects.create(
        conversation=conversation, role=MessageRole.ASSISTANT, text="Worn.",
        status=MessageStatus.DONE,
    )  # fmt: skip
    source = Connector.objects.create(
        workspace=workspace, kind=SourceKind.WEBSITE, name="Walk site",
        selection={"start_url": "https://example.com/", "prefix": "https://example.com/"},
        created_by=owner_a,
    )  # fmt: skip
    return {
        "slug": workspace.slug,
        "grant_id": str(grant.pk),
        "document_id": str(document.pk),
        "member_id": str(member.pk),
        "group_id": str(group.pk),
        "invitation_id": str(invitation.pk),
        "conversation_id": str(conversation.pk),
        "message_id": str(answer.pk),
        "connector_id": str(source.pk),
        "token": "not-a-token",
    }


def test_no_url_or_form_answers_bad_input_with_a_server_error(
    org_a: Organization,
    org_b: Organization,
    owner_a: User,
    organization_world: dict[str, str],
):
    tenant = Walk(signed_in(org_a, owner_a))
    walk_urlconf(tenant, settings.ROOT_URLCONF, organization_world)

    schema_public_activate()  # platform staff and their sessions live in the public schema
    operator = User.objects.create_superuser(email="operator@platform.example", password="x-42")
    public = Client(HTTP_HOST=settings.BASE_DOMAIN)
    public.force_login(operator)
    platform = Walk(public)
    walk_urlconf(
        platform,
        settings.PUBLIC_SCHEMA_URLCONF,
        # Organization B: its schema has no rows written in this test's transaction, which
        # PostgreSQL would refuse to drop in the same transaction (the admin's delete).
        {
            "app_label": "billing",
            "content_type_id": "1",
            "object_id": str(org_b.pk),
            "object_id@accounts/user/": str(operator.pk),
            "object_id@billing/plan/": str(Plan.objects.get(slug="team").pk),
            "object_id@billing/billingaccount/": str(BillingAccount.objects.first().pk),  # type: ignore[union-attr]
            "object_id@tenants/domain/": str(Domain.objects.get(tenant=org_b).pk),
            "object_id@auth/group/": str(Group.objects.create(name="Platform").pk),
        },
    )
    tried, errors = tenant.tried + platform.tried, tenant.errors + platform.errors
    print(f"bad-input walk: {tried} requests, {len(errors)} server errors")
    print("\n".join(errors))
    assert tried > 3000
    assert errors == []


def test_no_url_or_form_answers_an_anonymous_visitor_with_a_server_error(
    org_a: Organization, org_b: Organization, organization_world: dict[str, str]
):
    tenant = Walk(Client(HTTP_HOST=f"{org_a.slug}.{settings.BASE_DOMAIN}"))
    walk_urlconf(tenant, settings.ROOT_URLCONF, organization_world)

    schema_public_activate()
    public = Walk(Client(HTTP_HOST=settings.BASE_DOMAIN))
    walk_urlconf(public, settings.PUBLIC_SCHEMA_URLCONF, {"object_id": str(org_b.pk)})

    tried, errors = tenant.tried + public.tried, tenant.errors + public.errors
    print(f"anonymous walk: {tried} requests, {len(errors)} server errors")
    print("\n".join(errors))
    assert tried > 1500
    assert errors == []


@dataclass
class Operation:
    """One operation of the API's OpenAPI schema, for one media type of its body."""

    method: str
    template: str  # /api/v1/documents/{document_id}/
    media_type: str
    query: dict[str, dict[str, Any]]  # parameter -> its schema
    query_required: list[str]
    properties: dict[str, dict[str, Any]]  # body field -> its schema
    required: list[str]


def api_operations() -> Iterator[Operation]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    for template, operations in schema["paths"].items():
        for method, operation in operations.items():
            parameters = [p for p in operation.get("parameters", []) if p["in"] == "query"]
            query = {p["name"]: p.get("schema", {}) for p in parameters}
            query_required = [p["name"] for p in parameters if p.get("required")]
            content = operation.get("requestBody", {}).get("content", {})
            for media_type in ("application/json", "multipart/form-data"):
                body = content.get(media_type, {}).get("schema", {})
                if "$ref" in body:
                    body = components[body["$ref"].rsplit("/", 1)[-1]]
                if body or media_type == "application/json":
                    yield Operation(
                        method, template, media_type, query, query_required,
                        dict(body.get("properties", {})), list(body.get("required", [])),
                    )  # fmt: skip


def _plausible(property_schema: dict[str, Any]) -> Any:
    """A value of the property's type, so that one bad field at a time meets the rest valid."""
    kind = property_schema.get("type")
    if property_schema.get("format") == "date":
        return "2020-01-01"
    return {"integer": 1, "number": 1, "boolean": True, "array": [], "object": {}}.get(
        str(kind), "badges"
    )


def test_no_api_operation_answers_bad_values_from_a_key_with_a_server_error(
    org_a: Organization, owner_a: User, organization_world: dict[str, str]
):
    # Limits high enough that every request reaches the code behind the throttle.
    Plan.objects.update(asks_per_minute=10**6, ingests_per_minute=10**6)
    issued = api_key_create(
        actor=owner_a, name="Walk", scopes=["read", "ask", "ingest", "sources"],
        level=WorkspaceRole.EDITOR, workspace_ids=list(Workspace.objects.values_list("pk",
                                                                                      flat=True)),
    )  # fmt: skip
    walk = Walk(
        Client(HTTP_HOST=f"{org_a.slug}.{settings.BASE_DOMAIN}"),
        headers={"HTTP_AUTHORIZATION": f"Bearer {issued.secret}"},
    )

    # Every URL pattern with the key: bad path segments and query strings.
    walk_urlconf(walk, settings.ROOT_URLCONF, organization_world, forms=False)
    # Every operation: each query parameter and each body field bad in turn, the others
    # plausible, and bodies that are not an object or not JSON.
    operations = list(api_operations())
    for operation in operations:
        method, template = operation.method, operation.template
        names = re.findall(r"{(\w+)}", template)
        path = template.format(**{name: _real_value(organization_world, name, template)
                                  for name in names})  # fmt: skip
        for name in names:
            for bad in BAD_PATH_VALUES:
                bad_path = template.format(**{**dict.fromkeys(names, "1"), name: bad})
                walk.attempt(method, bad_path, b"{}", content_type="application/json")
        # The required parameters plausible, so that the bad one is read past them.
        query_base = {name: _plausible(operation.query[name]) for name in operation.query_required}
        for name in operation.query:
            for value in BAD_QUERY_VALUES:
                walk.attempt("get", path, {**query_base, name: value})
        if method not in ("post", "put", "patch"):
            continue
        base = {name: _plausible(operation.properties[name]) for name in operation.required}
        for name in operation.properties:
            if operation.media_type == "multipart/form-data":
                for value in BAD_FIELD_VALUES:
                    upload = SimpleUploadedFile("notes.md", b"# A\n\nB.\n")
                    form: dict[str, Any] = {"file": upload, name: value}
                    if name == "file":
                        form["file"] = SimpleUploadedFile(f"a{value[:50]}.md", b"# A\n\nB.\n")
                    body = encode_multipart(BOUNDARY, form)
                    walk.attempt(method, path, body, content_type=MULTIPART_CONTENT)
                continue
            for json_value in BAD_JSON_VALUES:
                body = json.dumps({**base, name: json_value}).encode()
                walk.attempt(method, path, body, content_type="application/json")
        if operation.media_type == "application/json":
            for raw in BAD_JSON_BODIES:
                walk.attempt(method, path, raw, content_type="application/json")

    print(f"API walk: {walk.tried} requests, {len(walk.errors)} server errors")
    print("\n".join(walk.errors))
    assert len(operations) >= 10
    assert walk.tried > 1000
    assert walk.errors == []


def _short(data: Any) -> str:
    if not data:
        return ""
    if isinstance(data, bytes):
        return repr(data[:60])
    text = repr({k: (v[:20] + "…" if isinstance(v, str) and len(v) > 20 else v)
                 for k, v in dict(data).items()})  # fmt: skip
    return text[:200]
