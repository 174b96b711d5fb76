"""Property: whatever happens to a Drive source's sharing and to its mirroring setting, and in
whatever order its syncs run, a person reads a synced file here exactly when the workspace
lets them (it is open to every member) and, while the source's permissions are mirrored, the
source let them in as of the last sync that read the file's permissions, and never while
they are pending (mirroring just turned on, and no sync has read them since).

Each example starts a local Drive-format server with two files shared with drawn people,
adds the source (mirroring drawn) and syncs it, then runs drawn steps: share or unshare a
file with a person at the server, turn mirroring on or off (the service the Sources page and
the API call), run the permission-only sync, or request and run a content sync. After every
step each person's documents list is compared with the expectation, computed here from the
drawn steps (a model of what each sync reads), not by asking the access policy. Everything
happens in a transaction rolled back at the example's end."""

import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts.models import User
from connectors.models import Connector, Schedule
from connectors.permissions import connector_readers_sync
from connectors.services import (
    connector_settings_set,
    connector_sync_request,
    drive_connector_add,
)
from connectors.sync import connector_sync_run
from localdev.drive_server import DriveLocal
from tenants.models import Organization
from tests.factories import make_member
from workspaces.models import Workspace
from workspaces.selectors import document_list
from workspaces.services import workspace_create

PEOPLE = ["ann@alpha.example", "bob@alpha.example", "cy@alpha.example"]
FILES = 2
SHARING = ("share", "unshare")
SETTINGS = ("mirror on", "mirror off", "permission sync", "content sync")

Step = tuple[str, int, int]  # (what, file, person); file and person 0 for a setting or sync


@dataclass
class Model:
    """What the syncs have read: `applied[f]` the people the last sync reading file f's
    permissions found (None: pending), `shares[f]` the people the server shares it with
    now, `touched` the files whose sharing changed since the last content sync (the
    changes it reads)."""

    mirroring: bool
    shares: list[set[int]]
    applied: list[set[int] | None] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)

    def readable(self, person: int) -> set[int]:
        if not self.mirroring:
            return set(range(FILES))
        return {f for f, applied in enumerate(self.applied) if applied and person in applied}


steps = st.lists(
    st.tuples(st.sampled_from(SHARING), st.integers(0, FILES - 1), st.integers(0, 2))
    | st.tuples(st.sampled_from(SETTINGS), st.just(0), st.just(0)),
    min_size=1,
    max_size=8,
)


def _file_name(f: int) -> str:
    return f"file{f}"


def _titles(user: User, workspace: Workspace) -> set[int]:
    titles = document_list(user=user, workspace=workspace).values_list("title", flat=True)
    return {int(title.removeprefix("file")) for title in titles}


def _run_content_sync(owner: User, connector: Connector) -> None:
    connector.refresh_from_db()
    connector_sync_request(actor=owner, connector=connector)
    connector_sync_run(connector_id=connector.pk)


def _step(model: Model, step: Step, drive: DriveLocal, ids: list[str], owner: User,
          connector: Connector) -> None:  # fmt: skip
    what, f, person = step
    if what == "share" and person not in model.shares[f]:
        drive.share(ids[f], "user", PEOPLE[person])
        model.shares[f].add(person)
        model.touched.add(f)
    elif what == "unshare" and person in model.shares[f]:
        drive.unshare(ids[f], PEOPLE[person])
        model.shares[f].discard(person)
        model.touched.add(f)
    elif what in ("mirror on", "mirror off"):
        connector.refresh_from_db()
        mirroring = what == "mirror on"
        connector_settings_set(
            actor=owner, connector=connector, schedule=Schedule(connector.schedule), paused=False,
            mirror_permissions=mirroring,
        )  # fmt: skip
        if mirroring and not model.mirroring:
            model.applied = [None] * FILES
        model.mirroring = mirroring
    elif what == "permission sync" and model.mirroring:
        connector_readers_sync(connector_id=connector.pk)
        model.applied = [set(shares) for shares in model.shares]
    elif what == "content sync":
        _run_content_sync(owner, connector)
        if model.mirroring:
            for touched in model.touched:
                model.applied[touched] = set(model.shares[touched])
        model.touched = set()


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    mirroring=st.booleans(),
    shares=st.lists(st.frozensets(st.integers(0, 2)), min_size=FILES, max_size=FILES),
    drawn=steps,
)
@example(
    # Turned off and on again with a share in between: pending until the permission sync.
    mirroring=True,
    shares=[frozenset({0}), frozenset()],
    drawn=[("mirror off", 0, 0), ("share", 1, 2), ("mirror on", 0, 0), ("content sync", 0, 0),
           ("permission sync", 0, 0), ("unshare", 0, 0), ("content sync", 0, 0)],
)  # fmt: skip
def test_a_file_is_read_only_as_the_last_read_of_its_permissions_allows(
    org_a: Organization, owner_a: User, mirroring: bool, shares: list[frozenset[int]],
    drawn: list[Step],
):  # fmt: skip
    drive = DriveLocal().start()
    overrides: dict[str, Any] = {
        "GOOGLE_DRIVE_API_URL": drive.api_url(), "GOOGLE_DRIVE_TOKEN_URI": drive.token_url(),
        "GOOGLE_ADMIN_API_URL": drive.url(),
    }  # fmt: skip
    try:
        with transaction.atomic(), override_settings(**overrides):
            people = [make_member(email=email) for email in PEOPLE]
            workspace = workspace_create(actor=owner_a, name="Drive", is_open=True)
            folder = drive.folder("Shared")
            ids = []
            for f in range(FILES):
                ids.append(drive.add(f"{_file_name(f)}.txt", f"File {f}.".encode(),
                                     parents=(folder.id,)).id)  # fmt: skip
                for person in shares[f]:
                    drive.share(ids[f], "user", PEOPLE[person])
            connector = drive_connector_add(
                actor=owner_a, workspace=workspace, key_file=json.dumps(drive.service_account()), folder_id=folder.id,
                mirror_permissions=mirroring,
            )  # fmt: skip
            connector_sync_run(connector_id=connector.pk)
            model = Model(mirroring=mirroring, shares=[set(s) for s in shares])
            model.applied = [set(s) for s in shares]

            for step in [("start", 0, 0), *drawn]:
                _step(model, step, drive, ids, owner_a, connector)
                for person, user in enumerate(people):
                    assert _titles(user, workspace) == model.readable(person), (step, person)
                pending = connector.items.filter(readers_pending=True).count()
                assert pending == (sum(a is None for a in model.applied) if model.mirroring else 0)
            transaction.set_rollback(True)
    finally:
        drive.stop()
