"""Property: whatever the workspaces, grants, groups and documents, a user never receives
a chunk from a workspace they may not read, in any retrieval mode."""

from django.contrib.auth.models import Group
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role, User
from tenants.models import Organization
from tests.factories import make_member
from tests.files import upload
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import Workspace, WorkspaceGrant, WorkspaceRole
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
    return {
        "workspaces": workspaces,
        "users": users,
        "groups": groups,
        "grants": grants,
        "texts": texts,
        "query": query,
    }


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
            }
            for mode in MODES:
                chunks = chunks_retrieve(user=user, query=scenario["query"], k=50, mode=mode)
                assert {chunk.workspace_id for chunk in chunks} <= may_read
                if mode == "vector":
                    assert len(chunks) == len(may_read)  # and it does find what they may read
        transaction.set_rollback(True)
