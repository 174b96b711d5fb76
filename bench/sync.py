"""Sync speed: a 2,000-item Google Drive folder on the local Drive-format server
(localdev/drive_server.py) read by the real Drive source (google-api-python-client), synced
by real Celery workers as `make dev` runs them (the large lane's worker runs the sync, the
main lane's two ingest what it adds), first in full and then after 20 files were edited, 10
added, 10 deleted and 5 shared with one more person (a permission change: the sync applies
the file's readers without downloading it); beside it, the same 2,000 files uploaded through the upload service
into another workspace and ingested by the same workers, in the same run.

    .venv/bin/python bench/sync.py [--items 2000] [--changed 20] [--added 10] [--deleted 10]
                                   [--permissions 5]

A sync's time runs from "Sync now" to the source idle and every document it added or
replaced ready (parsed, chunked, embedded); items/s is the source's items over that time.
For the second sync it counts what it touched: files downloaded and metadata read from the
Drive server (every request is recorded there), documents ingested and passages embedded
(the public ledger the ingestion writes, billing.UsageDay), and compares its time with the
first's (the goal: under 10 %). Uses a throwaway database (`bench_sync`) on the embedded
PostgreSQL (or the server DATABASE_URL names), the development settings, the Redis database
REDIS_URL names (default 14 here) with queues of its own, and a temporary MEDIA_ROOT. The
files are Markdown made of the sample handbook's paragraphs (samples/), each made distinct
by a line of its own. Prints the figures and the machine's load; the last line is JSON.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLES = ROOT / "samples"
QUEUE = "bench-sync"
NEW_READER = "auditor@bench.example"


def _paragraphs() -> list[str]:
    paragraphs = []
    for path in sorted(SAMPLES.glob("*.md")):
        if path.name == "README.md":
            continue
        for block in path.read_text().split("\n\n"):
            block = block.strip()
            if len(block) > 120 and not block.startswith(("#", "|", "-", "*")):
                paragraphs.append(" ".join(block.split()))
    return paragraphs


def _file(n: int, paragraphs: list[str], version: int = 1) -> bytes:
    chooser = random.Random(n * 7919 + version)
    body = "\n\n".join(chooser.sample(paragraphs, 3))
    return f"# Note {n}\n\nReference {n}, version {version}.\n\n{body}\n".encode()


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--changed", type=int, default=20)
    parser.add_argument("--added", type=int, default=10)
    parser.add_argument("--deleted", type=int, default=10)
    parser.add_argument("--permissions", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = QUEUE
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="bench-sync-media-")
    from localdev.drive_server import DriveLocal

    drive = DriveLocal().start()
    os.environ["GOOGLE_DRIVE_API_URL"] = drive.api_url()
    os.environ["GOOGLE_DRIVE_TOKEN_URI"] = drive.token_url()
    from bench.signup import use_bench_database

    use_bench_database("bench_sync")
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db.models import Sum
    from django_tenants.utils import tenant_context

    from billing.models import UsageDay
    from billing.services import organization_unmetered
    from connectors.models import Connector, Schedule, SyncState
    from connectors.services import connector_sync_request, drive_connector_add
    from members.actions.signup import organization_signup
    from tenants.services import platform_ensure
    from workspaces.models import Document, DocumentStatus
    from workspaces.services import document_upload, workspace_create

    call_command("migrate_schemas", interactive=False, verbosity=0)
    platform_ensure()
    organization, owner = organization_signup(
        name="Bench Sync", slug="bench-sync", owner_email="owner@bench.example",
        owner_password="bench-pass-123",  # noqa: S106  (throwaway database)
    )  # fmt: skip
    organization_unmetered(organization=organization)
    paragraphs = _paragraphs()
    folder = drive.folder("Handbook")
    ids = [
        drive.add(f"note-{n:05d}.md", _file(n, paragraphs), mime_type="text/markdown",
                  parents=(folder.id,)).id
        for n in range(args.items)
    ]  # fmt: skip
    workers = _workers()

    def ledger() -> tuple[int, int]:
        totals = UsageDay.objects.filter(organization=organization).aggregate(
            documents=Sum("documents_ingested"), chunks=Sum("chunks_embedded")
        )
        return int(totals["documents"] or 0), int(totals["chunks"] or 0)

    def settled(workspace_id: int, since: float, timeout: float = 7200) -> float:
        """Seconds from `since` until the workspace's source is idle and its documents are
        ready (or failed, counted apart)."""
        while True:
            with tenant_context(organization):
                busy = (
                    Connector.objects.filter(workspace_id=workspace_id)
                    .exclude(state__in=[SyncState.IDLE, SyncState.FAILED])
                    .exists()
                    or Document.objects.filter(workspace_id=workspace_id)
                    .exclude(status__in=[DocumentStatus.READY, DocumentStatus.FAILED])
                    .exists()
                )
            if not busy:
                return time.perf_counter() - since
            if time.perf_counter() - since > timeout:
                raise SystemExit("timed out")
            time.sleep(0.5)

    try:
        with tenant_context(organization):
            warm = workspace_create(actor=owner, name="Warm-up")
            document_upload(actor=owner, workspace=warm, upload=SimpleUploadedFile(
                "warm.md", _file(-1, paragraphs)))  # fmt: skip
        settled(warm.pk, time.perf_counter())  # the workers load the embedding model

        with tenant_context(organization):
            synced = workspace_create(actor=owner, name="Synced")
        start = time.perf_counter()
        with tenant_context(organization):
            connector = drive_connector_add(
                actor=owner, workspace=synced, key_file=json.dumps(drive.service_account()),
                folder_id=folder.id, schedule=Schedule.MANUAL,
            )  # fmt: skip
        first_seconds = settled(synced.pk, start)
        with tenant_context(organization):
            connector.refresh_from_db()
            first = _counts(connector)
            first["ready"] = Document.objects.filter(
                workspace=synced, status=DocumentStatus.READY
            ).count()
        load_after_first = _load()

        chooser = random.Random(27)
        touched = chooser.sample(ids, args.changed + args.deleted + args.permissions)
        changed = touched[: args.changed]
        deleted = touched[args.changed : args.changed + args.deleted]
        shared = touched[args.changed + args.deleted :]
        for file_id in changed:
            n = int(drive.files[file_id].name[5:10])
            drive.edit(file_id, _file(n, paragraphs, version=2))
        for file_id in deleted:
            drive.delete(file_id)
        for file_id in shared:
            drive.share(file_id, "user", NEW_READER)
        for n in range(args.items, args.items + args.added):
            drive.add(f"note-{n:05d}.md", _file(n, paragraphs), mime_type="text/markdown",
                      parents=(folder.id,))  # fmt: skip
        hits_before, ledger_before = len(drive.hits), ledger()
        start = time.perf_counter()
        with tenant_context(organization):
            connector.refresh_from_db()
            connector_sync_request(actor=owner, connector=connector)
        second_seconds = settled(synced.pk, start)
        hits = drive.hits[hits_before:]
        ledger_after = ledger()
        with tenant_context(organization):
            connector.refresh_from_db()
            second = _counts(connector)
            documents_now = Document.objects.filter(workspace=synced).count()
            readers_applied = Document.objects.filter(
                workspace=synced, reader_emails__contains=[NEW_READER]
            ).count()
        second |= {
            "downloads": sum(1 for _, path, query in hits
                             if "alt=media" in query or path.endswith("/export")),
            "metadata_reads": sum(1 for _, path, query in hits
                                  if path.startswith("/drive/v3/files/")
                                  and "alt=media" not in query
                                  and not path.endswith(("/export", "/permissions"))),
            "permission_reads": sum(1 for _, path, _ in hits if path.endswith("/permissions")),
            "other_requests": sum(1 for _, path, _ in hits
                                  if not path.startswith(("/drive/v3/files", "/drive/v3/changes"))),
            "listing_requests": sum(1 for _, path, _ in hits
                                    if path in ("/drive/v3/changes", "/drive/v3/files")),
            "documents_ingested": ledger_after[0] - ledger_before[0],
            "passages_embedded": ledger_after[1] - ledger_before[1],
            "documents_in_workspace": documents_now,
            "documents_with_the_new_reader": readers_applied,
        }  # fmt: skip

        with tenant_context(organization):
            uploaded = workspace_create(actor=owner, name="Uploaded")
        # The folder as it is now: as many files as the first sync read.
        files = [(file.name, file.content) for file in list(drive.files.values())
                 if folder.id in file.parents]  # fmt: skip
        start = time.perf_counter()
        with tenant_context(organization):
            for name, content in files:
                document_upload(actor=owner, workspace=uploaded,
                                upload=SimpleUploadedFile(name, content))  # fmt: skip
        upload_seconds = settled(uploaded.pk, start)
        with tenant_context(organization):
            upload_ready = Document.objects.filter(
                workspace=uploaded, status=DocumentStatus.READY
            ).count()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
        drive.stop()

    result: dict[str, Any] = {
        "items": args.items,
        "first_sync_seconds": round(first_seconds, 1),
        "first_sync_items_per_second": round(args.items / first_seconds, 2),
        "first_sync": first,
        "second_sync_seconds": round(second_seconds, 1),
        "second_sync_items_per_second": round((args.items + args.added) / second_seconds, 2),
        "second_sync_percent_of_first": round(100 * second_seconds / first_seconds, 2),
        "second_sync": second,
        "second_sync_expected": {
            "permission_changes": args.permissions,
            "changed": args.changed,
            "added": args.added,
            "deleted": args.deleted,
        },
        "upload_files": len(files),
        "upload_seconds": round(upload_seconds, 1),
        "upload_items_per_second": round(len(files) / upload_seconds, 2),
        "upload_ready": upload_ready,
        "load_after_first_sync": load_after_first,
        "load_at_end": _load(),
    }
    print(f"first sync: {args.items} items in {first_seconds:.1f} s "
          f"({result['first_sync_items_per_second']} items/s), {first}")  # fmt: skip
    print(f"second sync ({args.changed} changed, {args.added} added, {args.deleted} deleted, "
          f"{args.permissions} shared): "
          f"{second_seconds:.1f} s, {result['second_sync_percent_of_first']} % of the first; "
          f"{second}")  # fmt: skip
    print(f"upload of the same {len(files)} files: {upload_seconds:.1f} s "
          f"({result['upload_items_per_second']} items/s), {upload_ready} ready")  # fmt: skip
    print(f"load: {load_after_first} after the first sync, {result['load_at_end']} at the end")
    print(json.dumps(result))


def _counts(connector: Any) -> dict[str, Any]:
    return {
        "state": connector.state, "added": connector.added, "updated": connector.updated,
        "unchanged": connector.unchanged, "removed": connector.removed,
        "failed": connector.failed, "error": connector.error,
    }  # fmt: skip


def _workers() -> list[subprocess.Popen[bytes]]:
    """The two workers of `make dev` (localdev/run.py): the main lane with two processes,
    the large lane (where syncs run) with one."""
    celery = [sys.executable, "-m", "celery", "-A", "saas", "worker", "--loglevel", "WARNING"]
    log = open(Path(tempfile.gettempdir()) / "bench-sync-workers.log", "ab")  # noqa: SIM115
    return [
        subprocess.Popen([*celery, "-n", "main@%h", "-Q", QUEUE, "--concurrency", "2"],
                         cwd=ROOT, stdout=log, stderr=log),
        subprocess.Popen([*celery, "-n", "large@%h", "-Q", f"{QUEUE}.large", "--concurrency", "1"],
                         cwd=ROOT, stdout=log, stderr=log),
    ]  # fmt: skip


if __name__ == "__main__":
    main()
