"""What the API sends and accepts. Output serializers read model instances the selectors
returned (already filtered by the access policy); input serializers validate requests."""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import (
    PolymorphicProxySerializer,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers

from assistant.models import Citation, Conversation, Feedback, Message
from connectors.models import Connector, Schedule, SourceKind
from connectors.selectors import connector_document_count, connector_pending_count
from workspaces.ingestion.parsing.formats import readable_formats_listed
from workspaces.models import Document, DocumentKind, Workspace
from workspaces.search.retrieval import MODES, RetrievalFilters, updated_after_refusal
from workspaces.tags import TAG_MAX_CHARS, TAG_SHAPE, TAGS_MAX, TagRefused, tags_normalise


class ClosedSerializer(serializers.Serializer):
    """A request body of these fields only: a field the API does not know (`conversation_id`
    for `conversation`) is a 400 naming it, not silently ignored (the schema says
    `additionalProperties: false`, api.schema)."""

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            unknown = [name for name in data if name not in self.fields]
            if unknown:
                known = ", ".join(self.fields)
                raise serializers.ValidationError(
                    {name: [f"This field is not known here; the fields are {known}."]
                     for name in unknown}
                )  # fmt: skip
        return super().to_internal_value(data)


class TagsField(serializers.ListField):
    """Tags as the schema states them (letters and digits of any script, inner spaces and
    . - _ & +), stored case-folded; a bad one is a 400 with a sentence."""

    child = serializers.RegexField(
        TAG_SHAPE,
        max_length=TAG_MAX_CHARS,
        error_messages={
            "invalid": "A tag may hold only letters, digits, inner spaces and . - _ & +.",
            "max_length": f"A tag is longer than {TAG_MAX_CHARS} characters.",
        },
    )

    default_error_messages = {
        **serializers.ListField.default_error_messages,
        "max_length": f"Give at most {TAGS_MAX} tags.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", TAGS_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        values = super().to_internal_value(data)
        try:
            return tags_normalise(values)
        except TagRefused as refusal:
            raise serializers.ValidationError(str(refusal)) from None


def _filters(data: dict[str, Any], tags: str, kinds: str) -> RetrievalFilters:
    return RetrievalFilters(
        tags=tuple(data.get(tags) or ()),
        kinds=tuple(data.get(kinds) or ()),
        updated_after=data.get("updated_after"),
    )


KIND_CHOICES = [kind.value for kind in DocumentKind]


class UpdatedAfterField(serializers.DateField):
    """A day the updated-after filter can take (workspaces.search.retrieval), or a 400
    saying why."""

    def to_internal_value(self, value: Any) -> Any:
        day = super().to_internal_value(value)
        refusal = updated_after_refusal(day)
        if refusal:
            raise serializers.ValidationError(refusal)
        return day


class WorkspaceSerializer(serializers.ModelSerializer):
    document_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Workspace
        fields = ["id", "slug", "name", "description", "language", "is_open", "document_count"]


class DocumentSerializer(serializers.ModelSerializer):
    workspace = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id", "workspace", "title", "original_name", "kind", "size", "sha256", "pages",
            "status", "error", "chunks_total", "chunks_done", "progress", "version", "tags",
            "created_at", "updated_at",
        ]  # fmt: skip

    def get_progress(self, document: Document) -> float:
        """0 to 1: embedded chunks over all chunks; 1 once ready."""
        if document.status == "ready":
            return 1.0
        return (
            round(document.chunks_done / document.chunks_total, 3) if document.chunks_total else 0.0
        )


FILES_TAKEN = (
    f"Taken: {readable_formats_listed(conjunction='or')}, recognised by content (the name's "
    f"extension only tells text formats apart), of at most {settings.MAX_UPLOAD_BYTES} bytes, "
    "not empty and not damaged, and not the same content as a document already in the "
    "workspace. Any other file is a 400 problem saying why; past the plan's document or "
    "storage cap, a 403."
)


class DocumentUploadSerializer(ClosedSerializer):
    file = serializers.FileField(help_text=f"The document. {FILES_TAKEN}")
    title = serializers.CharField(required=False, allow_blank=True, max_length=300)
    tags = TagsField(
        required=False, default=list,
        help_text=f"Tags for the document (at most {TAGS_MAX}), stored case-folded",
    )  # fmt: skip


class DocumentReplaceSerializer(ClosedSerializer):
    file = serializers.FileField(help_text=f"The new version of the document. {FILES_TAKEN}")


def _workspaces_field(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.SlugField(max_length=60), required=False, default=list,
        help_text=help_text,
    )  # fmt: skip


def _kinds_field(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=KIND_CHOICES), required=False, default=list,
        help_text=help_text,
    )  # fmt: skip


# The filters are named as ask names them (workspaces, tags, kinds); the singular names of
# API version 1's first release still work until version 2 and are marked deprecated.
SEARCH_DEPRECATED = {"workspace": "workspaces", "tag": "tags", "kind": "kinds"}


@extend_schema_serializer(deprecate_fields=list(SEARCH_DEPRECATED))
class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=settings.RETRIEVAL_MAX_QUERY_CHARS)
    workspaces = _workspaces_field(
        "Workspace slugs to search (repeat the parameter); all readable ones if none"
    )
    k = serializers.IntegerField(min_value=1, max_value=50, default=10)
    mode = serializers.ChoiceField(choices=list(MODES), default="hybrid")
    tags = TagsField(
        required=False, default=list,
        help_text="Only documents carrying any of these tags (repeat the parameter)",
    )  # fmt: skip
    kinds = _kinds_field("Only documents of these types (repeat the parameter)")
    updated_after = UpdatedAfterField(
        required=False, allow_null=True, default=None,
        help_text="Only documents updated after this day (YYYY-MM-DD)",
    )  # fmt: skip
    workspace = _workspaces_field("Deprecated: use `workspaces` (the same, as ask names it)")
    tag = TagsField(
        required=False, default=list, help_text="Deprecated: use `tags` (the same, as ask names it)"
    )
    kind = _kinds_field("Deprecated: use `kinds` (the same, as ask names it)")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        """A deprecated name's values join its new name's."""
        for old, new in SEARCH_DEPRECATED.items():
            data[new] = [*data.get(new, []), *data.pop(old, [])]
        return data

    def filters(self) -> RetrievalFilters:
        return _filters(self.validated_data, "tags", "kinds")


class SearchResultSerializer(serializers.Serializer):
    chunk_id = serializers.IntegerField()
    document_id = serializers.IntegerField()
    document_title = serializers.CharField()
    workspace_id = serializers.IntegerField()
    page = serializers.IntegerField(allow_null=True)
    heading_path = serializers.CharField()
    text = serializers.CharField()
    score = serializers.FloatField(help_text="Reciprocal Rank Fusion of the two legs")
    vector_rank = serializers.IntegerField(allow_null=True)
    vector_score = serializers.FloatField(allow_null=True, help_text="Cosine similarity")
    lexical_rank = serializers.IntegerField(allow_null=True)
    lexical_score = serializers.FloatField(allow_null=True, help_text="BM25")


class AskSerializer(ClosedSerializer):
    question = serializers.CharField(max_length=settings.ASSISTANT_MAX_QUESTION_CHARS)
    conversation = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=10**17,
        help_text="Continue this conversation (a follow-up); a new one if absent",
    )  # fmt: skip
    workspaces = _workspaces_field("Workspace slugs to answer from; every readable one if empty")
    tags = TagsField(
        required=False, default=list, help_text="Answer only from documents with any of these"
    )
    kinds = _kinds_field("Answer only from documents of these types")
    updated_after = UpdatedAfterField(
        required=False, allow_null=True, default=None,
        help_text="Answer only from documents updated after this day (YYYY-MM-DD)",
    )  # fmt: skip

    def filters(self) -> RetrievalFilters:
        return _filters(self.validated_data, "tags", "kinds")


class CitationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Citation
        fields = ["marker", "document_id", "document_title", "page", "heading_path", "quote"]


class FeedbackSerializer(serializers.ModelSerializer):
    class Meta:
        model = Feedback
        fields = ["rating", "comment", "updated_at"]


class MessageSerializer(serializers.ModelSerializer):
    citations = CitationSerializer(many=True, read_only=True)
    feedback = serializers.SerializerMethodField()
    withheld = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id", "conversation_id", "role", "status", "text", "withheld", "answered",
            "failure_reason", "citations", "feedback", "search_filters", "created_at",
        ]  # fmt: skip

    @extend_schema_field(
        serializers.CharField(
            allow_null=True,
            help_text="Why `text` is empty: the answer quoted a workspace these credentials "
            "may no longer read. Null when the text is given.",
        )
    )
    def get_withheld(self, message: Message) -> str | None:
        # Set by the selectors that read answers for someone (assistant.selectors).
        reason: str | None = getattr(message, "withheld", None)
        return reason

    @extend_schema_field(FeedbackSerializer(allow_null=True))
    def get_feedback(self, message: Message) -> dict[str, Any] | None:
        given = list(message.feedback.all())
        return dict(FeedbackSerializer(given[0]).data) if given else None


class ConversationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Conversation
        fields = ["id", "title", "created_at", "updated_at"]


class ConversationDetailSerializer(ConversationSerializer):
    messages = serializers.SerializerMethodField()

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "messages"]

    @extend_schema_field(MessageSerializer(many=True))
    def get_messages(self, conversation: Conversation) -> list[dict[str, Any]]:
        return list(MessageSerializer(self.context["messages"], many=True).data)


class AnswerSerializer(serializers.Serializer):
    conversation = ConversationSerializer()
    message = MessageSerializer()


class FeedbackInputSerializer(ClosedSerializer):
    rating = serializers.ChoiceField(choices=["up", "down"])
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem detail, as every error of the API is sent."""

    type = serializers.CharField(help_text="A URI reference naming the kind of problem")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="What went wrong, as a sentence")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors: the messages per field",
    )
    retry_after = serializers.IntegerField(required=False, help_text="429: seconds to wait")


class _Page(serializers.Serializer):
    count = serializers.IntegerField(help_text="Items in all pages.")
    next = serializers.URLField(allow_null=True, help_text="The next page, if any.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, if any.")


class DocumentPageSerializer(_Page):
    results = DocumentSerializer(many=True)


class ConversationPageSerializer(_Page):
    results = ConversationSerializer(many=True)


# --- Sources (connectors) ------------------------------------------------------------------


class ConnectorSerializer(serializers.ModelSerializer):
    """A source as the API shows it: never its credentials, only whether it has some."""

    workspace = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    selection = serializers.SerializerMethodField()
    has_credentials = serializers.SerializerMethodField()
    documents = serializers.SerializerMethodField()
    permissions_pending = serializers.SerializerMethodField()
    permissions_synced_at = serializers.DateTimeField(
        source="readers_synced_at", read_only=True, allow_null=True,
        help_text="When the permission-only sync last read the source's permissions",
    )  # fmt: skip

    class Meta:
        model = Connector
        fields = [
            "id", "workspace", "kind", "name", "selection", "schedule", "paused", "state",
            "mirror_permissions", "has_credentials", "documents", "permissions_pending",
            "created_at", "sync_started_at", "last_synced_at", "next_sync_at",
            "permissions_synced_at", "added", "updated", "unchanged", "removed", "failed", "error",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "additionalProperties": True,
            "description": "What the source syncs, in its own terms (a website's start URL "
            "and prefix, a Drive folder, Confluence spaces); never a secret.",
        }
    )
    def get_selection(self, connector: Connector) -> dict[str, Any]:
        return dict(connector.selection)

    def get_has_credentials(self, connector: Connector) -> bool:
        """Whether credentials are stored (they are never returned)."""
        return bool(connector.credentials_encrypted)

    def get_documents(self, connector: Connector) -> int:
        """Documents in the workspace that came from this source."""
        return connector_document_count(connector=connector)

    def get_permissions_pending(self, connector: Connector) -> int:
        """Documents from this source that nobody reads until the source says who may (its
        permissions are mirrored and not read yet: the next permission sync reads them)."""
        return connector_pending_count(connector=connector)


def _kind_field(kind: SourceKind) -> serializers.ChoiceField:
    """The create body's discriminator: one value per kind."""
    return serializers.ChoiceField(choices=[kind.value], help_text=f"“{kind.value}”: {kind.label}")


def _schedule_field() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=Schedule.choices, default=Schedule.DAILY,
        help_text="Minutes between two syncs: 0 (only when asked), 60, 1440 (the default) or "
        "10080. A schedule shorter than the plan allows is a 400 saying so.",
    )  # fmt: skip


def _secret_field(
    help_text: str, *, max_length: int, required: bool = True
) -> serializers.CharField:
    return serializers.CharField(
        max_length=max_length, required=required, allow_blank=not required,
        default="" if not required else serializers.empty, write_only=True,
        style={"input_type": "password"},
        help_text=f"{help_text} Stored encrypted; never returned.",
    )  # fmt: skip


class WebsiteSourceInput(ClosedSerializer):
    kind = _kind_field(SourceKind.WEBSITE)
    start_url = serializers.URLField(
        max_length=2000, help_text="The site's first page, or its sitemap.xml (public address)"
    )
    path_prefix = serializers.URLField(
        max_length=2000, required=False, allow_blank=True, default="",
        help_text="Only pages under this address (default: the start URL's folder)",
    )  # fmt: skip
    schedule = _schedule_field()
    username = _secret_field("HTTP Basic user name, if the site asks.", max_length=200,
                             required=False)  # fmt: skip
    password = _secret_field("HTTP Basic password.", max_length=200, required=False)


class GoogleDriveSourceInput(ClosedSerializer):
    kind = _kind_field(SourceKind.GOOGLE_DRIVE)
    key_file = _secret_field("The service account's key file: its JSON, as a string.",
                             max_length=20_000)  # fmt: skip
    folder_id = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="",
        help_text="The folder to sync (the part after /folders/ in its address); empty: every "
        "file the account may read",
    )  # fmt: skip
    subject = serializers.EmailField(
        required=False, allow_blank=True, default="",
        help_text="A Google Workspace user to act as (domain-wide delegation)",
    )  # fmt: skip
    mirror_permissions = serializers.BooleanField(
        default=True,
        help_text="Each file is read here only by those it is shared with in Drive (default)",
    )
    schedule = _schedule_field()


class ConfluenceSourceInput(ClosedSerializer):
    kind = _kind_field(SourceKind.CONFLUENCE)
    site_url = serializers.URLField(
        max_length=500, help_text="The Confluence Cloud site, such as https://acme.atlassian.net"
    )
    email = serializers.EmailField(help_text="The Atlassian account the API token belongs to")
    api_token = _secret_field("The account's API token.", max_length=1000)
    spaces = serializers.ListField(
        child=serializers.CharField(max_length=255), min_length=1, max_length=100,
        help_text="Keys of the spaces to sync (HR, ENG)",
    )  # fmt: skip
    mirror_permissions = serializers.BooleanField(
        default=True,
        help_text="Each page is read here only by those who may view it in Confluence: its "
        "space's View permission and its restrictions (default)",
    )
    schedule = _schedule_field()


class NotionSourceInput(ClosedSerializer):
    kind = _kind_field(SourceKind.NOTION)
    token = _secret_field("The internal integration's secret.", max_length=500)
    schedule = _schedule_field()


class MicrosoftSourceInput(ClosedSerializer):
    kind = _kind_field(SourceKind.MICROSOFT)
    tenant_id = serializers.CharField(max_length=100, help_text="The Microsoft Entra tenant's id")
    client_id = serializers.CharField(max_length=100, help_text="The app registration's id")
    client_secret = _secret_field("The app registration's client secret.", max_length=1000)
    site_url = serializers.URLField(
        max_length=500, required=False, allow_blank=True, default="",
        help_text="A SharePoint site whose document library to sync (or give `user`)",
    )  # fmt: skip
    user = serializers.EmailField(
        required=False, allow_blank=True, default="",
        help_text="A user whose OneDrive to sync (or give `site_url`)",
    )  # fmt: skip
    folder = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default="",
        help_text="Only this folder of the library or drive (a path)",
    )  # fmt: skip
    mirror_permissions = serializers.BooleanField(
        default=True, help_text="Each file is read here only by those it is shared with there"
    )
    schedule = _schedule_field()


# The kinds the API adds, each with its body; a kind without one is added on the page.
SOURCE_INPUTS: dict[str, type[ClosedSerializer]] = {
    SourceKind.WEBSITE: WebsiteSourceInput,
    SourceKind.GOOGLE_DRIVE: GoogleDriveSourceInput,
    SourceKind.CONFLUENCE: ConfluenceSourceInput,
    SourceKind.NOTION: NotionSourceInput,
    SourceKind.MICROSOFT: MicrosoftSourceInput,
}

SOURCE_INPUT = PolymorphicProxySerializer(
    component_name="SourceInput",
    serializers={str(kind): serializer for kind, serializer in SOURCE_INPUTS.items()},
    resource_type_field_name="kind",
)


class SourceUpdateInput(ClosedSerializer):
    """A source's settings; a field left out stays as it is."""

    schedule = serializers.ChoiceField(
        choices=Schedule.choices, required=False,
        help_text="Minutes between two syncs: 0 (only when asked), 60, 1440 or 10080",
    )  # fmt: skip
    paused = serializers.BooleanField(required=False, help_text="No sync while paused")
    mirror_permissions = serializers.BooleanField(
        required=False,
        help_text="true: each item is read here only by those it is shared with at the source; "
        "its documents are read by nobody until the permission sync, queued at once, reads "
        "them. false: by every reader of the workspace (owners and admins only, not API keys)",
    )


class SourceRemoveQuerySerializer(serializers.Serializer):
    delete_documents = serializers.BooleanField(
        default=False, help_text="Delete the documents the source synced too (default: keep them)"
    )
