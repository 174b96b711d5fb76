"""Property: whatever the organization's workspaces, roles, groups, grants, documents, the
documents' source readers and answers, nobody receives content of a workspace or document
they may not read, on any read path, and what they may read is there.

Each example builds a scenario inside a transaction that is rolled back at its end (the
test client's requests run on the same connection, so they see it):
- workspaces, open or restricted, each named "Space zebraN" and holding one small document
  titled "Notes zebraN" whose three passages (one chunk each, tagged "paraNxP") say zebraN
  throughout, uploaded and ingested through the real services;
- members with organization roles, groups and grants, through the real services;
- each document with or without its source's readers (workspaces.readers, as a connector
  that mirrors a source's permissions sets them): members by address, source groups (whose
  members are drawn like the groups'), the members' domain. A document whose readers leave
  a member out is not theirs to read, whatever their role, though its workspace is;
- drawn answers, some of them follow-ups in the asker's conversation: the question through
  `question_ask`, the stream's claim and condensing (`message_claim`, `condense_by_history`),
  the searched workspaces and query embedding stored as `answer_prepare` stores them, the
  answer and its citations of chosen passages through `answer_finish`, and feedback through
  `feedback_set`. Searched and cited workspaces are drawn, not retrieved, and regardless of
  the asker's access, which is what a grant removed since the answer looks like. Questions,
  answers and comments say okapiN for each workspace the answer searched and tapirK for
  answer K;
- one real answer per member through the whole answering path (`question_ask`, then the
  stream's `answer_events` with the extractive provider), scoped to every workspace.

The expectation is computed here from the drawn scenario, not by asking the access policy,
and each member's pages (through the test client on the organization's host) and the
selectors are compared with it: zebraN and okapiN appear only for workspaces the member may
read, paraNxP (a document's passages) only for documents they may read; unreadable
workspaces, documents, files, citations and other members' conversations are 404 and
readable ones 200; feedback review and knowledge gaps show
exactly the answers that searched something the viewer manages and whose conversation, up
to them, searched and cited only what the viewer may read (workspaces searched, documents
cited), and are 404 for those who
manage nothing. An asker's own questions are theirs to see again, and so are their
answers' texts unless they quoted a workspace the asker may no longer read
(tests/assistant/test_withheld_answers.py); the sources they may no longer read are not. Two explicit examples pin cases that
random scenarios reach rarely.
"""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from asgiref.sync import async_to_sync
from django.db import transaction
from django.test import Client, override_settings
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts.models import Role, User
from assistant.answering import answer_events, answer_finish, message_claim
from assistant.conversations import feedback_set, question_ask
from assistant.llm import Passage, Usage
from assistant.llm.extractive import condense_by_history
from assistant.models import Citation, Conversation, Message
from assistant.selectors import (
    answers_reviewable_by,
    citation_get_readable,
    conversation_messages,
    feedback_for_review,
    knowledge_gaps,
)
from members.actions.groups import group_create, group_member_add
from tenants.models import Organization
from tests.conftest import signed_in
from tests.factories import make_member
from tests.files import upload
from workspaces.embedding.model import embeddings_default
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import Chunk, Document, Workspace, WorkspaceRole
from workspaces.readers import DocumentReaders, document_readers_set, source_group_members_set
from workspaces.search.retrieval import MODES, RetrievedChunk, chunks_retrieve
from workspaces.selectors import (
    chunk_list,
    chunk_neighbours,
    document_get_readable,
    document_list,
    workspace_get_readable,
    workspace_list_readable,
)
from workspaces.services import document_upload, grant_set

WORDS = ["vacation", "laptop", "warranty", "robot", "expense", "badge", "password", "parking"]
PARAGRAPHS = 3  # per document; each about 134 tokens, so each is one chunk
ORGANIZATION_MANAGERS = {Role.OWNER, Role.ADMIN}
AT_LEAST = {
    WorkspaceRole.VIEWER: {WorkspaceRole.VIEWER, WorkspaceRole.EDITOR, WorkspaceRole.MANAGER},
    WorkspaceRole.EDITOR: {WorkspaceRole.EDITOR, WorkspaceRole.MANAGER},
    WorkspaceRole.MANAGER: {WorkspaceRole.MANAGER},
}
REAL_QUESTION = "which vacation and laptop rules apply to everyone here?"
QUERY = "vacation laptop robot"  # every passage has these words


def paragraph(w: int, p: int) -> str:
    sentences = [f"Section para{w}x{p} of the zebra{w} handbook."] + [
        f"The {word} rule number {j + 1} in zebra{w} covers {WORDS[(j + p + 1) % 8]} and "
        f"{WORDS[(j + w + 2) % 8]} for everyone."
        for j, word in enumerate(WORDS)
    ]
    return " ".join(sentences)


def found(family: str, html: str) -> set[int]:
    """The workspace (or answer) numbers that `family` words name in a page."""
    return {int(n) for n in re.findall(rf"{family}(\d+)", html)}


def paragraphs_found(html: str) -> set[tuple[int, int]]:
    return {(int(w), int(p)) for w, p in re.findall(r"para(\d+)x(\d+)", html)}


@dataclass(frozen=True)
class DrawnAnswer:
    asker: int
    searched: frozenset[int]
    cited: tuple[tuple[int, int], ...]  # (workspace, paragraph) per citation
    answered: bool
    follow_up: bool  # continues the asker's latest conversation, if they have one
    rating: int | None  # the asker's feedback, if any


@dataclass(frozen=True)
class DrawnReaders:
    """A document's source readers: members by index, source groups by index (their
    members as the scenario's groups of that index), and the members' domain."""

    users: frozenset[int]
    groups: frozenset[int]
    domain: bool


@dataclass(frozen=True)
class Scenario:
    is_open: list[bool]
    roles: list[Role]
    groups: list[frozenset[int]]
    grants: list[tuple[int, tuple[str, int], WorkspaceRole]]
    answers: list[DrawnAnswer]
    # Per workspace's document; None (or missing): no readers, the workspace alone decides.
    readers: list[DrawnReaders | None] = field(default_factory=list)


@st.composite
def drawn_answers(draw: st.DrawFn, workspaces: int, users: int) -> DrawnAnswer:
    # (A member who may read nothing searches nothing: the real answers cover that.)
    searched = draw(st.frozensets(st.integers(0, workspaces - 1), min_size=1))
    answered = draw(st.booleans())
    cited = (
        draw(
            st.lists(
                st.tuples(st.sampled_from(sorted(searched)), st.integers(0, PARAGRAPHS - 1)),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
        if answered
        else []
    )
    return DrawnAnswer(
        asker=draw(st.integers(0, users - 1)),
        searched=searched,
        cited=tuple(cited),
        answered=answered,
        follow_up=draw(st.booleans()),
        rating=draw(st.sampled_from([None, 1, -1])),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    is_open = draw(st.lists(st.booleans(), min_size=1, max_size=3))
    roles = draw(
        st.lists(
            st.sampled_from([Role.MEMBER, Role.MEMBER, Role.BILLING_ADMIN, Role.ADMIN, Role.OWNER]),
            min_size=1,
            max_size=3,
        )
    )
    groups = draw(st.lists(st.frozensets(st.integers(0, len(roles) - 1)), max_size=2))
    targets = [("user", i) for i in range(len(roles))] + [("group", j) for j in range(len(groups))]
    grants = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(is_open) - 1),
                st.sampled_from(targets),
                st.sampled_from(list(WorkspaceRole)),
            ),
            max_size=6,
            unique_by=lambda grant: (grant[0], grant[1]),
        )
    )
    answers = draw(st.lists(drawn_answers(len(is_open), len(roles)), min_size=1, max_size=3))
    readers = [
        draw(
            st.none()
            | st.builds(
                DrawnReaders,
                users=st.frozensets(st.integers(0, len(roles) - 1)),
                groups=st.frozensets(st.integers(0, max(len(groups) - 1, 0)))
                if groups
                else st.just(frozenset()),
                # Rarely: the domain lets every member in, which leaves nothing to tell apart.
                domain=st.sampled_from([False, False, False, True]),
            )
        )
        for _ in is_open
    ]
    return Scenario(is_open, roles, groups, grants, answers, readers)


@dataclass
class Expected:
    """What the access rules, applied by hand to the drawn scenario, let each member do.
    `documents`: the workspaces whose document they may read."""

    readable: list[set[int]]
    editable: list[set[int]]
    managed: list[set[int]]
    documents: list[set[int]]


def reader_allows(scenario: Scenario, w: int, u: int) -> bool:
    readers = scenario.readers[w] if w < len(scenario.readers) else None
    return (
        readers is None
        or u in readers.users
        or any(u in scenario.groups[j] for j in readers.groups)
        or readers.domain
    )


def expected_access(scenario: Scenario) -> Expected:
    def granted(u: int, levels: set[WorkspaceRole]) -> set[int]:
        return {
            w
            for w, (kind, index), role in scenario.grants
            if role in levels
            and (
                (kind == "user" and index == u) or (kind == "group" and u in scenario.groups[index])
            )
        }

    everything = set(range(len(scenario.is_open)))
    open_ones = {w for w, is_open in enumerate(scenario.is_open) if is_open}
    readable, editable, managed = [], [], []
    for u, role in enumerate(scenario.roles):
        if role in ORGANIZATION_MANAGERS:
            readable.append(everything)
            editable.append(everything)
            managed.append(everything)
        else:
            readable.append(open_ones | granted(u, AT_LEAST[WorkspaceRole.VIEWER]))
            editable.append(granted(u, AT_LEAST[WorkspaceRole.EDITOR]))
            managed.append(granted(u, AT_LEAST[WorkspaceRole.MANAGER]))
    documents = [
        {w for w in readable[u] if reader_allows(scenario, w, u)}
        for u in range(len(scenario.roles))
    ]
    return Expected(readable, editable, managed, documents)


@dataclass
class StoredAnswer:
    tag: int
    asker: int
    conversation_id: int
    message_id: int
    searched: set[int]
    citations: list[tuple[int, int, int]]  # (citation id, workspace, ordinal)
    answered: bool
    query: str
    has_feedback: bool = False
    cited: set[int] = field(init=False)

    def __post_init__(self) -> None:
        self.cited = {w for _, w, _ in self.citations}


@dataclass
class World:
    organization: Organization
    workspaces: list[Workspace]
    documents: list[Document]
    chunks: list[list[Chunk]]  # per workspace, by ordinal
    users: list[User]
    answers: list[StoredAnswer]
    query_vector: list[float]

    def index(self, workspace_id: int) -> int:
        return next(w for w, ws in enumerate(self.workspaces) if ws.pk == workspace_id)

    def citations(self, message: Message) -> list[tuple[int, int, int]]:
        """(citation id, workspace, paragraph) of each of the answer's citations."""
        where = {c.pk: (w, c.ordinal) for w, chunks in enumerate(self.chunks) for c in chunks}
        return [
            (citation.pk, *where[citation.chunk_id])
            for citation in Citation.objects.filter(message=message)
            if citation.chunk_id is not None
        ]


def world_build(organization: Organization, owner: User, scenario: Scenario) -> World:
    # Created directly, as the other property test does: workspace_create would stop at the
    # Free plan's workspace cap, which has nothing to do with reading.
    workspaces = [
        Workspace.objects.create(name=f"Space zebra{w}", slug=f"w{w}", is_open=is_open)
        for w, is_open in enumerate(scenario.is_open)
    ]
    users = [make_member(role=role) for role in scenario.roles]
    groups = []
    for j, members in enumerate(scenario.groups):
        group = group_create(actor=owner, name=f"G{j}")
        for u in sorted(members):
            group_member_add(actor=owner, group=group, email=users[u].email)
        groups.append(group)
    for w, (kind, index), role in scenario.grants:
        grantee = users[index] if kind == "user" else groups[index]
        grant_set(actor=owner, workspace=workspaces[w], role=role, grantee=grantee)
    documents = [
        document_upload(
            actor=owner,
            workspace=workspace,
            upload=upload(
                f"notes-{w}.txt",
                "\n\n".join(paragraph(w, p) for p in range(PARAGRAPHS)).encode(),
            ),
            title=f"Notes zebra{w}",
            queue_ingestion=False,
        )
        for w, workspace in enumerate(workspaces)
    ]
    documents_ingest(document_ids=[document.pk for document in documents])
    for j, members in enumerate(scenario.groups):
        source_group_members_set(key=f"test:G{j}", members=[users[u].email for u in members])
    for w, named in enumerate(scenario.readers):
        if named is not None:
            readers = DocumentReaders(
                restricted=True,
                emails=frozenset(users[u].email for u in named.users),
                groups=frozenset(f"test:G{j}" for j in named.groups),
                domains=frozenset({"example.com"} if named.domain else set()),
            )
            document_readers_set(document=documents[w], readers=readers)
    chunks = [list(Chunk.objects.filter(document=d).order_by("ordinal")) for d in documents]
    assert [len(c) for c in chunks] == [PARAGRAPHS] * len(documents)
    query_vector = embeddings_default().embed_query(QUERY)
    world = World(organization, workspaces, documents, chunks, users, [], query_vector)
    for tag, drawn in enumerate(scenario.answers):
        world.answers.append(drawn_answer_store(world, tag, drawn))
    return world


def drawn_answer_store(world: World, tag: int, drawn: DrawnAnswer) -> StoredAnswer:
    """An answer with drawn searched workspaces and citations, stored by the answering
    path's own functions."""
    asker = world.users[drawn.asker]
    earlier = [a for a in world.answers if a.asker == drawn.asker]
    conversation = (
        Conversation.objects.get(pk=earlier[-1].conversation_id)
        if drawn.follow_up and earlier
        else None
    )
    words = " ".join([f"tapir{tag}", *(f"okapi{w}" for w in sorted(drawn.searched))])
    conversation, _, reply = question_ask(user=asker, text=f"{words}?", conversation=conversation)
    claim = message_claim(message_id=reply.pk)
    assert claim is not None
    query = condense_by_history(claim.question, claim.history)
    Message.objects.filter(pk=reply.pk).update(
        search_query=query,
        searched_workspace_ids=sorted(world.workspaces[w].pk for w in drawn.searched),
        search_embedding=embeddings_default().embed_query(query),
    )
    passages = [
        Passage(number, retrieved(world, w, p))
        for number, (w, p) in enumerate(drawn.cited, start=1)
    ]
    markers = " ".join(f"[{passage.number}]" for passage in passages)
    answer_finish(
        message_id=reply.pk,
        text=f"Reply {words}. {markers}" if drawn.answered else f"Nothing on {words}.",
        usage=Usage(model="extractive", answered=drawn.answered),
        passages=passages,
        latency_ms=1,
        first_token_ms=1,
    )
    if drawn.rating is not None:
        feedback_set(user=asker, message=reply, rating=drawn.rating, comment=f"About {words}")
    citations = world.citations(reply)
    assert sorted((w, p) for _, w, p in citations) == sorted(drawn.cited)
    return StoredAnswer(
        tag=tag,
        asker=drawn.asker,
        conversation_id=conversation.pk,
        message_id=reply.pk,
        searched=set(drawn.searched),
        citations=citations,
        answered=drawn.answered,
        query=query,
        has_feedback=drawn.rating is not None,
    )


def retrieved(world: World, w: int, p: int) -> RetrievedChunk:
    chunk = world.chunks[w][p]
    return RetrievedChunk(
        chunk_id=chunk.pk,
        document_id=chunk.document_id,
        document_title=world.documents[w].title,
        workspace_id=chunk.workspace_id,
        ordinal=chunk.ordinal,
        text=chunk.text,
        page=chunk.page,
        heading_path=chunk.heading_path,
        score=0.5,
        vector_rank=1,
        vector_score=0.5,
        lexical_rank=None,
        lexical_score=None,
    )


async def _stream(organization: Organization, message_id: int) -> None:
    async for _ in answer_events(tenant=organization, message_id=message_id):
        pass


def real_answer_store(
    world: World, tag: int, u: int, readable: set[int], documents: set[int]
) -> StoredAnswer:
    """A question answered by the whole answering path, as the stream view runs it. Driven
    through async_to_sync from this thread, so the path's database work runs on this
    thread's connection and sees the example's uncommitted rows."""
    conversation, _, reply = question_ask(
        user=world.users[u],
        text=f"tapir{tag} {REAL_QUESTION}",
        scope_ids=[workspace.pk for workspace in world.workspaces],
    )
    async_to_sync(_stream)(world.organization, reply.pk)
    reply.refresh_from_db()
    citations = world.citations(reply)
    searched = {world.index(workspace_id) for workspace_id in reply.searched_workspace_ids}
    # The answering path searches what the member may read within the scope, all of it.
    assert searched == readable
    assert {w for _, w, _ in citations} <= documents
    assert found("zebra", reply.text) <= documents
    return StoredAnswer(
        tag=tag,
        asker=u,
        conversation_id=conversation.pk,
        message_id=reply.pk,
        searched=searched,
        citations=citations,
        answered=reply.answered,
        query=reply.search_query,
    )


def reviewable(
    world: World, answer: StoredAnswer, readable: set[int], managed: set[int], documents: set[int]
) -> bool:
    """The answer searched a workspace the viewer manages, and neither it nor an earlier
    answer of its conversation (whose question and answer feed a follow-up's search and
    reply) searched a workspace or cited a document the viewer may not read."""
    exchanges = [
        a
        for a in world.answers
        if a.conversation_id == answer.conversation_id and a.message_id <= answer.message_id
    ]
    return bool(answer.searched & managed) and all(
        a.searched <= readable and a.cited <= documents for a in exchanges
    )


async def _gather(content: AsyncIterator[bytes]) -> bytes:
    return b"".join([piece async for piece in content])


def status(
    client: Client, url: str, data: dict[str, str] | None = None, htmx: bool = False
) -> tuple[int, str]:
    """The response's status and text (a file's bytes read to the end)."""
    response = client.get(url, data, headers={"HX-Request": "true"} if htmx else None)
    if response.streaming:
        # Reading the content to its end closes the response, as a server would. (Closing
        # it again would fire request_finished, whose handler closes a connection that is
        # inside a transaction.)
        body = (
            async_to_sync(_gather)(response.streaming_content)
            if response.is_async
            else b"".join(response.streaming_content)
        )
        return response.status_code, body.decode(errors="replace")
    return response.status_code, response.content.decode()


def check_workspace_pages(
    world: World,
    client: Client,
    w: int,
    readable: set[int],
    editable: set[int],
    managed: set[int],
    mode: str,
    documents: set[int],
) -> None:
    slug, document = world.workspaces[w].slug, world.documents[w]
    document_url = f"/w/{slug}/documents/{document.pk}/"
    may_read = w in readable
    expected = 200 if may_read else 404
    # Its document's readers may keep it from a reader of the workspace.
    may_read_document = w in documents
    expected_document = 200 if may_read_document else 404

    code, html = status(client, f"/w/{slug}/")
    assert code == expected
    if may_read:
        assert w in found("zebra", html)
    assert (document_url in html) == may_read_document
    assert found("zebra", html) <= readable

    code, html = status(client, f"/w/{slug}/", {"q": "zebra"}, htmx=True)
    assert code == expected
    assert found("zebra", html) <= readable and (document_url in html) == may_read_document

    code, html = status(client, document_url)
    assert code == expected_document
    assert paragraphs_found(html) == (
        {(w, p) for p in range(PARAGRAPHS)} if may_read_document else set()
    )
    assert found("zebra", html) <= documents

    code, html = status(client, f"{document_url}row/")
    assert code == expected_document
    assert found("zebra", html) <= documents

    code, body = status(client, f"{document_url}download/")
    assert code == expected_document
    assert (f"para{w}x0" in body) == may_read_document

    # The document under another workspace's address is not found, readable or not.
    other = world.workspaces[(w + 1) % len(world.workspaces)]
    if other.pk != world.workspaces[w].pk:
        assert status(client, f"/w/{other.slug}/documents/{document.pk}/")[0] == 404
        assert status(client, f"/w/{other.slug}/documents/{document.pk}/download/")[0] == 404

    code, html = status(client, f"/w/{slug}/search/", {"q": QUERY, "mode": mode})
    assert code == (200 if w in editable else 404)
    assert found("zebra", html) <= readable
    if w in editable:
        assert {pw for pw, _ in paragraphs_found(html)} == ({w} & documents)

    assert status(client, f"/w/{slug}/access/")[0] == (200 if w in managed else 404)


def check_answer_pages(
    world: World, client: Client, u: int, readable: set[int], managed: set[int], documents: set[int]
) -> None:
    for answer in world.answers:
        for citation_id, w, ordinal in answer.citations:
            code, html = status(client, f"/ask/sources/{citation_id}/")
            own_and_readable = answer.asker == u and w in documents
            assert code == (200 if own_and_readable else 404)
            assert found("zebra", html) <= readable
            if own_and_readable:  # the passage with its neighbours, nothing further
                near = {(w, p) for p in (ordinal - 1, ordinal, ordinal + 1) if 0 <= p < PARAGRAPHS}
                assert paragraphs_found(html) == near

    for answer in world.answers:
        # A finished answer's stream sends it once more, as the thread shows it.
        code, html = status(client, f"/ask/messages/{answer.message_id}/stream/")
        assert code == (200 if answer.asker == u else 404)
        assert found("zebra", html) <= readable
        for citation_id, w, _ in answer.citations:
            assert (f"/ask/sources/{citation_id}/" in html) == (code == 200 and w in documents)

    for conversation_id in {a.conversation_id for a in world.answers}:
        mine = [a for a in world.answers if a.conversation_id == conversation_id]
        code, html = status(client, f"/ask/c/{conversation_id}/")
        assert code == (200 if mine[0].asker == u else 404)
        # Questions and answers are the asker's own; sources are what must not show.
        assert found("zebra", html) <= readable
        assert paragraphs_found(html) <= {(w, p) for w in documents for p in range(PARAGRAPHS)}
        if code == 200:
            for answer in mine:
                for citation_id, w, _ in answer.citations:
                    assert (f"/ask/sources/{citation_id}/" in html) == (w in documents)

    shown = [a for a in world.answers if reviewable(world, a, readable, managed, documents)]
    code, html = status(client, "/ask/feedback/")
    assert code == (200 if managed else 404)
    assert found("zebra", html) | found("okapi", html) <= readable
    assert paragraphs_found(html) <= {(w, p) for w in documents for p in range(PARAGRAPHS)}
    if managed:
        assert found("tapir", html) == {a.tag for a in shown if a.has_feedback}

    code, html = status(client, "/ask/gaps/")
    assert code == (200 if managed else 404)
    assert found("zebra", html) | found("okapi", html) <= readable
    gap_tags = {tag for a in shown if not a.answered for tag in found("tapir", a.query)}
    assert found("tapir", html) <= gap_tags  # a group lists five of its questions at most


def check_selectors(
    world: World, u: int, readable: set[int], managed: set[int], documents: set[int]
) -> None:
    user = world.users[u]
    ids = {world.workspaces[w].pk for w in readable}
    assert {ws.pk for ws in workspace_list_readable(user=user)} == ids
    counted = {ws.pk: ws.document_count for ws in workspace_list_readable(user=user)}
    assert counted == {world.workspaces[w].pk: int(w in documents) for w in readable}
    for w, workspace in enumerate(world.workspaces):
        assert (workspace_get_readable(user=user, slug=workspace.slug) is not None) == (
            w in readable
        )
        may_read = w in documents
        document = world.documents[w]
        assert document_list(user=user, workspace=workspace).exists() == may_read
        assert (
            document_get_readable(user=user, workspace=workspace, document_id=document.pk)
            is not None
        ) == may_read
        assert chunk_list(user=user, document=document).count() == (PARAGRAPHS if may_read else 0)
        before, after = chunk_neighbours(user=user, chunk=world.chunks[w][1])
        assert (before is not None, after is not None) == (may_read, may_read)

    everything = [workspace.pk for workspace in world.workspaces]
    for mode in MODES:
        for within in (None, everything):
            chunks = chunks_retrieve(
                user=user,
                query=QUERY,
                within=within,
                k=50,
                mode=mode,
                query_vector=world.query_vector,
            )
            assert {chunk.workspace_id for chunk in chunks} == {
                world.workspaces[w].pk for w in documents
            }

    for answer in world.answers:
        for citation_id, w, _ in answer.citations:
            citation = citation_get_readable(user=user, citation_id=citation_id)
            assert (citation is not None) == (answer.asker == u and w in documents)
    for conversation_id in {a.conversation_id for a in world.answers if a.asker == u}:
        conversation = Conversation.objects.get(pk=conversation_id)
        sources = {
            c.pk
            for message in conversation_messages(user=user, conversation=conversation)
            for c in message.citations.all()
        }
        assert sources == {
            citation_id
            for a in world.answers
            if a.conversation_id == conversation_id
            for citation_id, w, _ in a.citations
            if w in documents
        }

    shown = [a for a in world.answers if reviewable(world, a, readable, managed, documents)]
    assert answers_reviewable_by(user=user) == bool(managed)
    rows = feedback_for_review(user=user)
    gaps = knowledge_gaps(user=user)
    if not managed:
        assert rows is None and gaps is None
        return
    assert rows is not None and gaps is not None
    assert {row.message_id for row in rows} == {a.message_id for a in shown if a.has_feedback}
    assert {
        tag for gap in gaps for question in gap.questions for tag in found("tapir", question)
    } == {tag for a in shown if not a.answered for tag in found("tapir", a.query)}


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scenario=scenarios())
@example(
    # A follow-up that searched only the open workspace, after a first question answered from
    # the restricted one: its manager must not see the first question through the follow-up.
    scenario=Scenario(
        is_open=[True, False],
        roles=[Role.MEMBER, Role.MEMBER],
        groups=[],
        grants=[(1, ("user", 0), WorkspaceRole.VIEWER), (0, ("user", 1), WorkspaceRole.MANAGER)],
        answers=[
            DrawnAnswer(0, frozenset({1}), ((1, 1),), answered=True, follow_up=False, rating=-1),
            DrawnAnswer(0, frozenset({0}), (), answered=False, follow_up=True, rating=-1),
        ],
    )
)
@example(
    # An answer that cited a restricted workspace its asker may no longer read.
    scenario=Scenario(
        is_open=[False, True],
        roles=[Role.MEMBER],
        groups=[],
        grants=[],
        answers=[
            DrawnAnswer(0, frozenset({0, 1}), ((0, 1), (1, 0)), True, follow_up=False, rating=1)
        ],
    )
)
@example(
    # Documents their source keeps from readers of their open workspaces: the first from
    # everyone (the admin too), the second from all but the source group's member, whose
    # earlier answer cited both.
    scenario=Scenario(
        is_open=[True, True],
        roles=[Role.MEMBER, Role.ADMIN],
        groups=[frozenset({0})],
        grants=[],
        answers=[
            DrawnAnswer(0, frozenset({0, 1}), ((0, 1), (1, 0)), True, follow_up=False, rating=-1)
        ],
        readers=[
            DrawnReaders(users=frozenset(), groups=frozenset(), domain=False),
            DrawnReaders(users=frozenset(), groups=frozenset({0}), domain=False),
        ],
    )
)
def test_nobody_receives_content_of_a_workspace_they_cannot_read(
    org_a: Organization, owner_a: User, scenario: Scenario
):
    expected = expected_access(scenario)
    with transaction.atomic(), override_settings(ASSISTANT_EXTRACTIVE_STREAM_DELAY_MS=0):
        world = world_build(org_a, owner_a, scenario)
        first_real_tag = len(world.answers)
        for u in range(len(world.users)):
            world.answers.append(
                real_answer_store(
                    world, first_real_tag + u, u, expected.readable[u], expected.documents[u]
                )
            )

        for u, user in enumerate(world.users):
            readable, managed = expected.readable[u], expected.managed[u]
            documents = expected.documents[u]
            client = signed_in(org_a, user)
            code, html = status(client, "/")
            assert code == 200 and found("zebra", html) == readable
            code, html = status(client, "/ask/")
            assert code == 200 and found("zebra", html) == readable
            assert ("/ask/feedback/" in html) == bool(managed)
            for w in range(len(world.workspaces)):
                # One retrieval mode per page view (the query is embedded at each), taking
                # turns; the selector checks below run every mode.
                mode = MODES[(u + w) % len(MODES)]
                check_workspace_pages(
                    world, client, w, readable, expected.editable[u], managed, mode, documents
                )
            check_answer_pages(world, client, u, readable, managed, documents)
            check_selectors(world, u, readable, managed, documents)
        transaction.set_rollback(True)
