"""Fair ingestion: how long one organization's small document waits while another
organization ingests 400 pages.

    .venv/bin/python bench/fairness.py [--pages 200] [--cap 240]

A throwaway database (`bench_fairness`) with organizations A and B and real Celery workers
(subprocesses, queue `bench-fairness`, so a running `make dev` worker takes none of it):

1. idle: B uploads a one-page Markdown note; seconds until it is ready.
2. lanes (the product): the main worker (concurrency 2) and the large-document lane's own
   worker (INGEST_LARGE_CONCURRENCY, 1). A uploads two PDFs of `--pages` text pages each;
   once one of them is being processed, B uploads the note; seconds until it is ready.
3. shared (before the lanes): one worker, concurrency 2, serving both queues, as the single
   shared queue did; the same again. Capped at `--cap` seconds (A's PDFs hold both slots).

Ends with one JSON line: small_doc_ready_s (2), small_doc_ready_idle_s (1),
small_doc_ready_shared_s (3).
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUEUE = "bench-fairness"
WORDS = [
    *("policy", "travel", "leave", "manager", "approval", "expense", "hotel", "nightly"),
    *("limit", "employee", "safety", "machine", "guard", "maintenance", "procedure"),
    *("warranty", "invoice", "contract", "supplier", "audit", "training"),
]


def big_pdf(pages: int, seed: int) -> bytes:
    from tests.files import text_pdf

    rng = random.Random(seed)
    drawn = []
    for number in range(pages):
        lines = [(14.0, True, [(72, f"Section {number + 1}")])]
        lines += [
            (10.0, False, [(72, " ".join(rng.choice(WORDS) for _ in range(14)) + ".")])
            for _ in range(40)
        ]
        drawn.append(lines)
    return text_pdf(drawn, title=f"Manual {seed}")


def workers_start(queues: list[tuple[str, int]]) -> list[subprocess.Popen[bytes]]:
    """One worker per (queues, concurrency), in their own process groups."""
    env = dict(os.environ)
    started = []
    for index, (names, concurrency) in enumerate(queues):
        command = [sys.executable, "-m", "celery", "-A", "saas", "worker", "-n", f"bench{index}@%h"]
        command += ["-Q", names, "--concurrency", str(concurrency), "--loglevel", "WARNING"]
        command += ["--without-gossip", "--without-mingle"]
        started.append(
            subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return started


def workers_stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--cap", type=float, default=240.0)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = QUEUE
    from bench.signup import use_bench_database

    use_bench_database("bench_fairness")
    os.environ["MEDIA_ROOT"] = str(ROOT / ".run" / "bench-fairness-media")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from billing.services import organization_unmetered
    from members.actions.signup import organization_signup
    from saas.celery import app
    from tests.files import upload
    from workspaces.lanes import large_lane
    from workspaces.models import Document, DocumentStatus
    from workspaces.services import document_upload, workspace_create

    call_command("migrate_schemas", interactive=False, verbosity=0)
    from tenants.services import platform_ensure

    platform_ensure()
    orgs = {}
    for slug in ("org-a", "org-b"):
        organization, owner = organization_signup(
            name=slug.upper(), slug=slug, owner_email=f"owner@{slug}.example",
            owner_password="bench-pass-123",  # noqa: S106  (throwaway database)
        )  # fmt: skip
        organization_unmetered(organization=organization)
        with tenant_context(organization):
            orgs[slug] = (organization, owner, workspace_create(actor=owner, name="Docs"))
    print(f"building two {args.pages}-page PDFs ...", flush=True)
    manuals = [big_pdf(args.pages, seed) for seed in (1, 2)]
    note = (ROOT / "samples" / "onboarding-guide.md").read_bytes()
    assert settings.CELERY_TASK_DEFAULT_QUEUE == QUEUE

    def small_note_ready_s(label: str) -> float:
        organization, owner, workspace = orgs["org-b"]
        with tenant_context(organization):
            start = time.perf_counter()
            document = document_upload(
                actor=owner,
                workspace=workspace,
                upload=upload(f"{label}.md", note + f"\n\nCopy: {label}.\n".encode()),
            )
            while True:
                status = Document.objects.values_list("status", flat=True).get(pk=document.pk)
                elapsed = time.perf_counter() - start
                if status in (DocumentStatus.READY, DocumentStatus.FAILED) or elapsed > args.cap:
                    assert status != DocumentStatus.FAILED, "the note failed"
                    return elapsed
                time.sleep(0.05)

    def large_ingest_started(label: str) -> list[int]:
        organization, owner, _ = orgs["org-a"]
        with tenant_context(organization):
            # A new workspace each run: the same manuals again would be refused as copies.
            workspace = workspace_create(actor=owner, name=f"Manuals {label}")
            ids = [
                document_upload(
                    actor=owner, workspace=workspace, upload=upload(f"manual-{n}.pdf", data)
                ).pk
                for n, data in enumerate(manuals)
            ]
            deadline = time.monotonic() + 60
            while not Document.objects.filter(
                pk__in=ids, status__in=[DocumentStatus.PARSING, DocumentStatus.EMBEDDING]
            ).exists():
                assert time.monotonic() < deadline, "A's manuals never started"
                time.sleep(0.1)
        return ids

    def purge() -> None:
        for queue in (QUEUE, large_lane()):
            with app.connection_for_write() as connection:
                connection.default_channel.queue_purge(queue)

    figures = {}
    workers = workers_start([(QUEUE, 2), (large_lane(), settings.INGEST_LARGE_CONCURRENCY)])
    try:
        time.sleep(3)  # the workers load the model
        small_note_ready_s("warm-up")
        figures["small_doc_ready_idle_s"] = round(small_note_ready_s("idle"), 2)
        print(f"idle: the note was ready in {figures['small_doc_ready_idle_s']} s", flush=True)
        large_ingest_started("lanes")
        figures["small_doc_ready_s"] = round(small_note_ready_s("lanes"), 2)
        print(f"lanes, A ingesting: ready in {figures['small_doc_ready_s']} s", flush=True)
    finally:
        workers_stop(workers)
        purge()
    workers = workers_start([(f"{QUEUE},{large_lane()}", 2)])
    try:
        time.sleep(3)
        large_ingest_started("shared")
        shared = small_note_ready_s("shared")
        figures["small_doc_ready_shared_s"] = round(shared, 2)
        capped = " (the cap: not ready yet)" if shared > args.cap else ""
        print(f"one shared queue, A ingesting: ready in {shared:.1f} s{capped}", flush=True)
    finally:
        workers_stop(workers)
        purge()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
