"""Property: whatever the workspaces, grants, groups, documents and the documents' source
readers, a user never receives a chunk from a workspace or a document they may not read, in
any retrieval mode, and the vector leg finds every one they may."""

from django.contrib.auth.models import Group
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role, User
from tenants.models import Organization
from tests.factories import make_member
from tests.files import upload
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import Document, Workspace, WorkspaceGrant, WorkspaceRole
from workspaces.readers import DocumentReaders, document_readers_set, source_group_members_set
from workspaces.search.retrieval import MODES, chunks_retrieve
from workspaces.services import document_upload

WORDS = ["vacation", "laptop", "warranty", "robot", "expense", "badge", "password", "parking"]


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    workspaces = draw(st.lists(st.booleans(), min_size=1, max_size=4))  # is_open each
    users = draw(
        st.lists(
            st.sampled_from([Role.MEMBER, Role.MEMBER, Role.BILLING_ADMIN, Role.ADMIN]),
            min_size=1,
            max_size=3,
        )
    )
    groups = draw(st.lists(st.sets(st.integers(0, len(users) - 1)), max_size=2))
    targets = [("user", i) for i in range(len(users))] + [("group", j) for j in range(len(groups))]
    grants = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(workspaces) - 1),
                st.sampled_from(targets),
                st.sampled_from(list(WorkspaceRole.values)),
            ),
            max_size=5,
            unique_by=lambda grant: (grant[0], grant[1]),
        )
    )
    texts = [
        " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=2, max_size=6))) for _ in workspaces
    ]
    query = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3)))
    # Per document: None (no readers: the workspace decides), or the source's readers: users
    # by address, source groups (members drawn apart from the groups of grants), a domain.
    source_groups = draw(st.lists(st.sets(st.integers(0, len(users) - 1)), max_size=2))
    readers = [
        draw(
            st.none()
            | st.tuples(
                st.sets(st.integers(0, len(users) - 1)),
                st.sets(st.integers(0, len(source_groups) - 1))
                if source_groups
                else st.just(set()),
                st.sampled_from(["", "", "example.com", "elsewhere.example"]),
            )
        )
        for _ in workspaces
    ]
    return {
        "workspaces": workspaces,
        "users": users,
        "groups": groups,
        "grants": grants,
        "texts": texts,
        "query": query,
        "source_groups": source_groups,
        "readers": readers,
    }


def reader_allows(scenario: dict, w: int, u: int) -> bool:
    """The document's source readers, applied by hand (every user is personN@example.com)."""
    drawn = scenario["readers"][w]
    if drawn is None:
        return True
    emails, source_groups, domain = drawn
    return (
        u in emails
        or any(u in scenario["source_groups"][j] for j in source_groups)
        or domain == "example.com"
    )


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scenario=scenarios())
def test_a_user_never_receives_a_chunk_from_a_workspace_they_cannot_read(
    org_a: Organization, owner_a: User, scenario: dict
):
    with transaction.atomic():
        workspaces = [
            Workspace.objects.create(name=f"W{i}", slug=f"w{i}", is_open=is_open)
            for i, is_open in enumerate(scenario["workspaces"])
        ]
        users = [make_member(role=role) for role in scenario["users"]]
        groups = []
        for j, members in enumerate(scenario["groups"]):
            group = Group.objects.create(name=f"G{j}")
            group.user_set.set([users[i] for i in members])
            groups.append(group)
        for w, (kind, index), role in scenario["grants"]:
            target = {"user": users[index]} if kind == "user" else {"group": groups[index]}
            WorkspaceGrant.objects.create(workspace=workspaces[w], role=role, **target)
        ids = [
            document_upload(
                actor=owner_a, workspace=workspace, upload=upload(f"d{i}.txt", text.encode())
            ).pk
            for i, (workspace, text) in enumerate(zip(workspaces, scenario["texts"], strict=True))
        ]
        documents_ingest(document_ids=ids)
        for j, members in enumerate(scenario["source_groups"]):
            source_group_members_set(key=f"test:S{j}", members=[users[i].email for i in members])
        for document_id, drawn in zip(ids, scenario["readers"], strict=True):
            if drawn is not None:
                emails, source_groups, domain = drawn
                document_readers_set(
                    document=Document.objects.get(pk=document_id),
                    readers=DocumentReaders(
                        restricted=True,
                        emails=frozenset(users[i].email for i in emails),
                        groups=frozenset(f"test:S{j}" for j in source_groups),
                        domains=frozenset({domain} if domain else set()),
                    ),
                )

        for u, user in enumerate(users):
            may_read = {
                workspaces[w].pk
                for w, is_open in enumerate(scenario["workspaces"])
                if is_open
                or user.role == Role.ADMIN
                or any(
                    gw == w
                    and (
                        (kind == "user" and index == u)
                        or (kind == "group" and u in scenario["groups"][index])
                    )
                    for gw, (kind, index), _ in scenario["grants"]
                )
                if reader_allows(scenario, w, u)
            }
            for mode in MODES:
                chunks = chunks_retrieve(user=user, query=scenario["query"], k=50, mode=mode)
                assert {chunk.workspace_id for chunk in chunks} <= may_read
                if mode == "vector":
                    assert len(chunks) == len(may_read)  # and it does find what they may read
        transaction.set_rollback(True)
