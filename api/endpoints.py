"""The REST API's endpoints, /api/v1/. Each parses its input with a serializer, calls the
same selectors and services as the product's pages (so the access policy, the plan's caps,
the audit log and the stored conversations are the same), and answers JSON; errors are
problem details (api.problems). What the caller may not read is a 404, as for people."""

import json
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import async_to_sync
from django.http import HttpResponseBase, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, PermissionDenied, Throttled, ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from api.models import Scope
from api.permissions import KeyHasScope
from api.selectors import (
    connector_get_readable_by_id,
    document_get_readable_by_id,
    workspace_get_readable_by_slug,
)
from api.serializers import (
    SEARCH_DEPRECATED,
    SOURCE_INPUT,
    SOURCE_INPUTS,
    AnswerSerializer,
    AskSerializer,
    ConnectorSerializer,
    ConversationDetailSerializer,
    ConversationPageSerializer,
    ConversationSerializer,
    DocumentPageSerializer,
    DocumentReplaceSerializer,
    DocumentSerializer,
    DocumentUploadSerializer,
    FeedbackInputSerializer,
    FeedbackSerializer,
    MessageSerializer,
    ProblemSerializer,
    SearchQuerySerializer,
    SearchResultSerializer,
    SourceRemoveQuerySerializer,
    SourceUpdateInput,
    WorkspaceSerializer,
)
from api.throttles import PlanRateThrottle
from assistant.answering import answer_events
from assistant.conversations import feedback_set, question_ask
from assistant.models import Conversation, Message
from assistant.selectors import (
    conversation_get,
    conversation_list,
    conversation_messages,
    message_get,
)
from billing.rate_limits import RateLimitedAction
from connectors.models import Connector, SourceKind
from connectors.selectors import connector_list
from connectors.services import (
    confluence_connector_add,
    connector_remove,
    connector_settings_set,
    connector_sync_request,
    drive_connector_add,
    microsoft_connector_add,
    notion_connector_add,
    website_connector_add,
)
from tenants.schemas import IN_CALLERS_THREAD, in_tenant
from workspaces.access import sources_manageable, workspace_allows
from workspaces.models import Document, Workspace, WorkspaceRole
from workspaces.search.retrieval import chunks_retrieve
from workspaces.selectors import document_list, workspace_list_readable
from workspaces.services import document_delete, document_replace, document_upload

PROBLEM = OpenApiResponse(ProblemSerializer, description="A problem detail (RFC 9457)")
ERRORS = {(status, "application/problem+json"): PROBLEM for status in (400, 401, 403, 404)}
TOO_MANY = {(429, "application/problem+json"): PROBLEM}


OFFSET_MAX = 10**9


class Pages(LimitOffsetPagination):
    """`?limit=&offset=`; a page says the total count and links to the next and previous.
    A value that is not a whole number in range is a 400 (DRF's own falls back to the
    default, so `offset=null` was taken as 0 and the schema said otherwise)."""

    default_limit = 50
    max_limit = 500

    def get_limit(self, request: Request) -> int:
        return _whole_number(request, self.limit_query_param, 1, self.max_limit, self.default_limit)

    def get_offset(self, request: Request) -> int:
        return _whole_number(request, self.offset_query_param, 0, OFFSET_MAX, 0)


def _whole_number(request: Request, name: str, least: int, most: int, default: int) -> int:
    given = request.query_params.get(name)
    if given is None:
        return default
    if not given.strip().isdecimal() or not least <= int(given) <= most:
        raise ValidationError({name: [f"Give a whole number from {least} to {most}."]})
    return int(given)


PAGE_PARAMETERS = [
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": Pages.max_limit},
        description=f"Items per page (default {Pages.default_limit}, at most {Pages.max_limit}).",
    ),
    OpenApiParameter(
        "offset",
        {"type": "integer", "minimum": 0, "maximum": OFFSET_MAX},
        description="Items to skip.",
    ),
]


class ApiView(APIView):
    """Scopes per method (`scopes`), rate limits per method (`rate_limited`)."""

    permission_classes = [*APIView.permission_classes, KeyHasScope]
    throttle_classes = [PlanRateThrottle]
    scopes: dict[str, str] = {}
    rate_limited: dict[str, str] = {}
    rate_limited_reason = ""

    def throttled(self, request: Request, wait: float | None) -> None:
        raise Throttled(wait=wait, detail=self.rate_limited_reason or None)


def _user(request: Request) -> User:
    user: User = request.user
    return user


def _workspace(request: Request, slug: str) -> Workspace:
    workspace = workspace_get_readable_by_slug(user=_user(request), slug=slug)
    if workspace is None:
        raise NotFound(f"No workspace “{slug}” that these credentials may read.")
    return workspace


def _document(request: Request, document_id: int) -> Document:
    document = document_get_readable_by_id(user=_user(request), document_id=document_id)
    if document is None:
        raise NotFound(f"No document {document_id} that these credentials may read.")
    return document


def _ensure_editor(request: Request, workspace: Workspace) -> None:
    if not workspace_allows(user=_user(request), workspace=workspace, needed=WorkspaceRole.EDITOR):
        raise PermissionDenied(
            f"These credentials may read “{workspace.name}” but not change its documents "
            "(the editor role is needed)."
        )


class WorkspaceListView(ApiView):
    scopes = {"GET": Scope.READ}

    @extend_schema(responses={200: WorkspaceSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        """The workspaces these credentials may read."""
        workspaces = workspace_list_readable(user=_user(request))
        return Response(WorkspaceSerializer(workspaces, many=True).data)


class DocumentListView(ApiView):
    scopes = {"GET": Scope.READ, "POST": Scope.INGEST}
    rate_limited = {"POST": RateLimitedAction.INGEST}
    parser_classes = [MultiPartParser]

    @extend_schema(parameters=PAGE_PARAMETERS, responses={200: DocumentPageSerializer, **ERRORS})
    def get(self, request: Request, slug: str) -> Response:
        """A workspace's documents with their ingestion status, a page at a time."""
        workspace = _workspace(request, slug)
        documents = document_list(user=_user(request), workspace=workspace).order_by("title", "id")
        pages = Pages()
        page = pages.paginate_queryset(documents, request, view=self)
        return pages.get_paginated_response(DocumentSerializer(page, many=True).data)

    @extend_schema(
        request=DocumentUploadSerializer,
        responses={201: DocumentSerializer, **TOO_MANY, **ERRORS},
    )
    def post(self, request: Request, slug: str) -> Response:
        """Upload a file; it is queued for ingestion (poll the document for its status)."""
        workspace = _workspace(request, slug)
        _ensure_editor(request, workspace)
        upload = DocumentUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        document = document_upload(
            actor=_user(request),
            workspace=workspace,
            upload=upload.validated_data["file"],
            title=upload.validated_data.get("title", ""),
            tags=upload.validated_data.get("tags", []),
        )
        return Response(DocumentSerializer(document).data, status=201)


class DocumentDetailView(ApiView):
    scopes = {"GET": Scope.READ, "PUT": Scope.INGEST, "DELETE": Scope.INGEST}
    rate_limited = {"PUT": RateLimitedAction.INGEST}
    parser_classes = [MultiPartParser]

    @extend_schema(responses={200: DocumentSerializer, **ERRORS})
    def get(self, request: Request, document_id: int) -> Response:
        """One document: its status (queued, parsing, embedding, ready, failed), progress and
        error."""
        return Response(DocumentSerializer(_document(request, document_id)).data)

    @extend_schema(
        request=DocumentReplaceSerializer,
        responses={200: DocumentSerializer, **TOO_MANY, **ERRORS},
    )
    def put(self, request: Request, document_id: int) -> Response:
        """Replace the document with a new version; its passages swap once it is indexed."""
        document = _document(request, document_id)
        _ensure_editor(request, document.workspace)
        upload = DocumentReplaceSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        document = document_replace(
            actor=_user(request), document=document, upload=upload.validated_data["file"]
        )
        return Response(DocumentSerializer(document).data)

    @extend_schema(responses={204: None, **ERRORS})
    def delete(self, request: Request, document_id: int) -> Response:
        """Delete the document, its passages and its file."""
        document = _document(request, document_id)
        _ensure_editor(request, document.workspace)
        document_delete(actor=_user(request), document=document)
        return Response(status=204)


def _workspace_ids(request: Request, slugs: list[str]) -> list[int]:
    return [_workspace(request, slug).pk for slug in dict.fromkeys(slugs)]


class SearchView(ApiView):
    scopes = {"GET": Scope.READ}

    @extend_schema(
        parameters=[SearchQuerySerializer],
        responses={200: SearchResultSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        """The hybrid retriever (vector and BM25 legs fused by Reciprocal Rank Fusion) over
        the readable workspaces, with each leg's rank and score per passage."""
        query = SearchQuerySerializer(
            data={
                **request.query_params.dict(),
                **{
                    name: request.query_params.getlist(name)
                    for name in ("workspaces", "tags", "kinds", *SEARCH_DEPRECATED)
                },
            }
        )
        query.is_valid(raise_exception=True)
        within = _workspace_ids(request, query.validated_data["workspaces"]) or None
        results = chunks_retrieve(
            user=_user(request),
            query=query.validated_data["q"],
            within=within,
            k=query.validated_data["k"],
            mode=query.validated_data["mode"],
            filters=query.filters(),
        )
        return Response(SearchResultSerializer(results, many=True).data)


class EventStreamRenderer(BaseRenderer):
    """Lets `Accept: text/event-stream` choose the streamed answer; a refusal that happens
    before the stream starts is still a problem detail (JSON)."""

    media_type = "text/event-stream"
    format = "sse"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return json.dumps(data).encode()


def _answer(user: User, message_id: int) -> dict[str, Any]:
    message = message_get(user=user, message_id=message_id)
    assert message is not None  # the caller's own answer, just asked
    conversation = message.conversation
    return dict(AnswerSerializer({"conversation": conversation, "message": message}).data)


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


class AskView(ApiView):
    scopes = {"POST": Scope.ASK}
    rate_limited = {"POST": RateLimitedAction.ASK}
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(
        request=AskSerializer,
        responses={
            200: AnswerSerializer,
            (200, "text/event-stream"): OpenApiResponse(
                OpenApiTypes.STR,
                description=(
                    'With `Accept: text/event-stream`: `partial` events ({"text": the answer '
                    "so far}) as it is written, then one `done` event with the JSON answer."
                ),
            ),
            **TOO_MANY,
            **ERRORS,
        },
    )
    def post(self, request: Request) -> HttpResponseBase:
        """Ask a question: the answer with its citations (the question counts against the
        plan's cap, and the conversation is kept as on the Ask page)."""
        asked = AskSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        user = _user(request)
        conversation: Conversation | None = None
        if asked.validated_data.get("conversation"):
            conversation = conversation_get(
                user=user, conversation_id=asked.validated_data["conversation"]
            )
            if conversation is None:
                raise NotFound("No such conversation of these credentials.")
        conversation, _, reply = question_ask(
            user=user,
            text=asked.validated_data["question"],
            conversation=conversation,
            scope_ids=_workspace_ids(request, asked.validated_data["workspaces"]),
            filters=asked.filters(),
        )
        tenant = request.tenant
        if isinstance(request.accepted_renderer, EventStreamRenderer):
            return self._stream(tenant, user, reply.pk)

        async def drain() -> None:
            # This view is synchronous: the answer's database work stays on its thread. Reset
            # after, as async_to_sync copies the coroutine's context back to this thread.
            token = IN_CALLERS_THREAD.set(True)
            try:
                async for _ in answer_events(tenant=tenant, message_id=reply.pk):
                    pass
            finally:
                IN_CALLERS_THREAD.reset(token)

        async_to_sync(drain)()
        return Response(_answer(user, reply.pk))

    def _stream(self, tenant: Any, user: User, message_id: int) -> StreamingHttpResponse:
        async def events() -> AsyncIterator[str]:
            async for kind, text in answer_events(tenant=tenant, message_id=message_id):
                if kind == "partial":
                    yield _sse("partial", {"text": text})
                else:
                    yield _sse(
                        "done", await in_tenant(tenant, _answer, user=user, message_id=message_id)
                    )

        return StreamingHttpResponse(
            events(),
            content_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


class ConversationListView(ApiView):
    scopes = {"GET": Scope.ASK}

    @extend_schema(
        operation_id="v1_conversations_list",
        parameters=PAGE_PARAMETERS,
        responses={200: ConversationPageSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        """These credentials' conversations, newest first, a page at a time."""
        pages = Pages()
        page = pages.paginate_queryset(conversation_list(user=_user(request)), request, view=self)
        return pages.get_paginated_response(ConversationSerializer(page, many=True).data)


def _conversation(request: Request, conversation_id: int) -> Conversation:
    conversation = conversation_get(user=_user(request), conversation_id=conversation_id)
    if conversation is None:
        raise NotFound(f"No conversation {conversation_id} of these credentials.")
    return conversation


class ConversationDetailView(ApiView):
    scopes = {"GET": Scope.ASK}

    @extend_schema(responses={200: ConversationDetailSerializer, **ERRORS})
    def get(self, request: Request, conversation_id: int) -> Response:
        """A conversation with its questions and answers (each answer's citations)."""
        conversation = _conversation(request, conversation_id)
        messages = conversation_messages(user=_user(request), conversation=conversation)
        context = {"messages": messages}
        return Response(ConversationDetailSerializer(conversation, context=context).data)


class ConversationMessagesView(ApiView):
    scopes = {"GET": Scope.ASK}

    @extend_schema(responses={200: MessageSerializer(many=True), **ERRORS})
    def get(self, request: Request, conversation_id: int) -> Response:
        """A conversation's messages, oldest first."""
        conversation = _conversation(request, conversation_id)
        messages = conversation_messages(user=_user(request), conversation=conversation)
        return Response(MessageSerializer(messages, many=True).data)


class FeedbackView(ApiView):
    scopes = {"POST": Scope.ASK}
    parser_classes = [JSONParser]

    @extend_schema(request=FeedbackInputSerializer, responses={200: FeedbackSerializer, **ERRORS})
    def post(self, request: Request, message_id: int) -> Response:
        """Rate an answer up or down, with an optional comment (rating again replaces it)."""
        message: Message | None = message_get(user=_user(request), message_id=message_id)
        if message is None:
            raise NotFound(f"No answer {message_id} of these credentials.")
        given = FeedbackInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        feedback = feedback_set(
            user=_user(request),
            message=message,
            rating=1 if given.validated_data["rating"] == "up" else -1,
            comment=given.validated_data.get("comment"),
        )
        return Response(FeedbackSerializer(feedback).data)


def _ensure_sources_manager(request: Request, workspace: Workspace) -> None:
    if not sources_manageable(user=_user(request), workspace=workspace):
        raise PermissionDenied(
            f"These credentials may read “{workspace.name}” but not manage its sources: owners "
            "and admins do, and API keys with the “sources” scope that may edit the workspace."
        )


def _connector(request: Request, connector_id: int) -> Connector:
    connector = connector_get_readable_by_id(user=_user(request), connector_id=connector_id)
    if connector is None:
        raise NotFound(f"No source {connector_id} that these credentials may read.")
    _ensure_sources_manager(request, connector.workspace)
    return connector


def _source_add(actor: User, workspace: Workspace, fields: dict[str, Any]) -> Connector:
    kind = fields.pop("kind")
    if kind == SourceKind.WEBSITE:
        return website_connector_add(
            actor=actor, workspace=workspace, start_url=fields["start_url"],
            prefix=fields["path_prefix"], schedule=fields["schedule"],
            username=fields["username"], password=fields["password"],
        )  # fmt: skip
    if kind == SourceKind.GOOGLE_DRIVE:
        return drive_connector_add(actor=actor, workspace=workspace, **fields)
    if kind == SourceKind.NOTION:
        return notion_connector_add(actor=actor, workspace=workspace, **fields)
    if kind == SourceKind.MICROSOFT:
        return microsoft_connector_add(actor=actor, workspace=workspace, **fields)
    return confluence_connector_add(actor=actor, workspace=workspace, **fields)


class ConnectorListView(ApiView):
    scopes = {"GET": Scope.SOURCES, "POST": Scope.SOURCES}
    rate_limited = {"POST": RateLimitedAction.INGEST}
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="v1_workspaces_sources_list",
        responses={200: ConnectorSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, slug: str) -> Response:
        """A workspace's sources: what each syncs, its schedule, state and last sync's counts
        (never its credentials)."""
        workspace = _workspace(request, slug)
        _ensure_sources_manager(request, workspace)
        return Response(ConnectorSerializer(connector_list(workspace=workspace), many=True).data)

    @extend_schema(
        operation_id="v1_workspaces_sources_create",
        request=SOURCE_INPUT,
        responses={201: ConnectorSerializer, **TOO_MANY, **ERRORS},
    )
    def post(self, request: Request, slug: str) -> Response:
        """Connect a source to the workspace (the body's `kind` says which); its first sync
        starts at once. Past the plan's number of sources, a 403; a schedule shorter than
        the plan allows, or an address or key that cannot be used, a 400 saying why."""
        workspace = _workspace(request, slug)
        _ensure_sources_manager(request, workspace)
        kind = request.data.get("kind") if isinstance(request.data, dict) else None
        body = SOURCE_INPUTS.get(kind) if isinstance(kind, str) else None
        if body is None:
            raise ValidationError(
                {"kind": [f"Give the kind of source: one of {', '.join(SOURCE_INPUTS)}."]}
            )
        given = body(data=request.data)
        given.is_valid(raise_exception=True)
        connector = _source_add(_user(request), workspace, dict(given.validated_data))
        return Response(ConnectorSerializer(connector).data, status=201)


class ConnectorDetailView(ApiView):
    scopes = {"GET": Scope.SOURCES, "PATCH": Scope.SOURCES, "DELETE": Scope.SOURCES}
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="v1_sources_retrieve", responses={200: ConnectorSerializer, **ERRORS}
    )
    def get(self, request: Request, connector_id: int) -> Response:
        """One source: its state (idle, queued, running, waiting, failed), last sync's counts
        and why it stopped, if it did."""
        return Response(ConnectorSerializer(_connector(request, connector_id)).data)

    @extend_schema(
        operation_id="v1_sources_partial_update",
        request=SourceUpdateInput,
        responses={200: ConnectorSerializer, **ERRORS},
    )
    def patch(self, request: Request, connector_id: int) -> Response:
        """Change a source's schedule, pause it or resume it, or turn the mirroring of its
        source's permissions on or off (audited). On: its documents are read by nobody until
        the permission sync, queued at once, reads who may. Off: by every reader of the
        workspace; only owners and admins signed in as themselves may, not API keys (a
        400 saying so)."""
        connector = _connector(request, connector_id)
        given = SourceUpdateInput(data=request.data)
        given.is_valid(raise_exception=True)
        fields = given.validated_data
        connector = connector_settings_set(
            actor=_user(request), connector=connector,
            schedule=fields.get("schedule", connector.schedule),
            paused=fields.get("paused", connector.paused),
            mirror_permissions=fields.get("mirror_permissions"),
        )  # fmt: skip
        return Response(ConnectorSerializer(connector).data)

    @extend_schema(
        operation_id="v1_sources_destroy",
        parameters=[SourceRemoveQuerySerializer],
        responses={204: None, **ERRORS},
    )
    def delete(self, request: Request, connector_id: int) -> Response:
        """Remove the source; its documents stay unless `delete_documents=true`."""
        connector = _connector(request, connector_id)
        query = SourceRemoveQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        connector_remove(
            actor=_user(request), connector=connector,
            documents_too=query.validated_data["delete_documents"],
        )  # fmt: skip
        return Response(status=204)


class ConnectorSyncView(ApiView):
    scopes = {"POST": Scope.SOURCES}
    rate_limited = {"POST": RateLimitedAction.INGEST}
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="v1_sources_sync",
        request=None,
        responses={202: ConnectorSerializer, **TOO_MANY, **ERRORS},
    )
    def post(self, request: Request, connector_id: int) -> Response:
        """Sync now: the sync is queued (poll the source for its state). A paused source, or
        one syncing already, is a 400 saying so."""
        connector = connector_sync_request(
            actor=_user(request), connector=_connector(request, connector_id)
        )
        return Response(ConnectorSerializer(connector).data, status=202)


class NotFoundView(ApiView):
    """Any other path under /api/v1/: a problem detail rather than the site's 404 page."""

    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []

    @extend_schema(exclude=True)
    def get(self, request: Request, rest: str = "") -> Response:
        raise NotFound("There is no such endpoint; see /api/v1/docs/.")

    post = put = patch = delete = get
