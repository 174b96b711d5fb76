"""Export speed and round trip: an organization of 500 documents (each with its original
file in storage and 20 passages with vectors) and 5,000 messages (250 conversations of ten
questions and ten answers, three citations an answer, feedback on every other answer),
exported by a real Celery worker as the product does (Members -> Data -> Export all data),
then imported into a fresh organization (`manage.py organization_import`).

    .venv/bin/python bench/export.py [--documents 500] [--messages 5000]

Uses a throwaway database (`bench_export`) on the embedded PostgreSQL (or the server
DATABASE_URL names), the development settings, Redis database REDIS_URL names (default 13
here, apart from `make dev`'s) with a queue of its own, and a temporary MEDIA_ROOT. The
documents are the twelve files of samples/ and passages from them, each copy made distinct
by a line of its own; the vectors are random unit vectors (the export copies vectors, it
does not read them). Prints the export's seconds from the click to a ready archive, the
archive's size, the import's seconds, whether the round trip gave back every document,
passage, conversation and message, and the machine's load; the last line is JSON.
"""

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLES = ROOT / "samples"
PASSAGES_PER_DOCUMENT = 20
CITATIONS_PER_ANSWER = 3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=500)
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = "bench-export"
    media = tempfile.mkdtemp(prefix="bench-export-media-")
    os.environ["MEDIA_ROOT"] = media
    from bench.signup import use_bench_database

    use_bench_database("bench_export")
    import django

    django.setup()
    import numpy as np
    from celery.contrib.testing.worker import start_worker
    from django.core.files.base import ContentFile
    from django.core.management import call_command
    from django.db import transaction
    from django_tenants.utils import tenant_context

    from accounts.models import Role, User
    from assistant.models import Citation, Conversation, Feedback, Message, MessageRole
    from lifecycle.export import data_export_start
    from lifecycle.models import DataExport
    from members.actions.signup import organization_signup
    from saas.celery import app
    from tenants.schemas import schema_public_activate
    from tenants.services import platform_ensure
    from workspaces.ingestion.term_stats import chunks_index_text, term_stats_add
    from workspaces.models import Chunk, Document, DocumentStatus, Workspace

    call_command("migrate_schemas", interactive=False, verbosity=0)
    platform_ensure()
    organization, owner = organization_signup(
        name="Bench Export",
        slug="bench-export",
        owner_email="owner@bench.example",
        owner_password="bench-pass-123",  # noqa: S106  (throwaway database)
    )
    samples = [p for p in sorted(SAMPLES.iterdir()) if p.name != "README.md"]
    texts = [p.read_bytes() for p in samples]
    words = " ".join((SAMPLES / "README.md").read_text().split()[:400]).split()
    rng = np.random.default_rng(7)
    start = time.perf_counter()
    with tenant_context(organization), transaction.atomic():
        people = [owner] + [
            User.objects.create_user(email=f"person{n}@bench.example", role=Role.MEMBER)
            for n in range(9)
        ]
        workspaces = [Workspace.objects.create(name=f"W{n}", slug=f"w{n}") for n in range(5)]
        documents = []
        for n in range(args.documents):
            sample = samples[n % len(samples)]
            data = texts[n % len(texts)] + f"\n<!-- copy {n} -->\n".encode()
            document = Document(
                workspace=workspaces[n % len(workspaces)],
                title=f"{sample.stem} {n}",
                original_name=sample.name,
                kind="text",
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                status=DocumentStatus.READY,
                chunks_total=PASSAGES_PER_DOCUMENT,
                chunks_done=PASSAGES_PER_DOCUMENT,
            )
            document.file.save(sample.name, ContentFile(data))
            documents.append(document)
        chunks = []
        for document in documents:
            vectors = rng.standard_normal((PASSAGES_PER_DOCUMENT, 384)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            for ordinal in range(PASSAGES_PER_DOCUMENT):
                text = " ".join(rng.choice(words, 90).tolist())
                chunks.append(
                    Chunk(
                        document=document,
                        workspace_id=document.workspace_id,
                        ordinal=ordinal,
                        text=text,
                        heading_path=f"{document.title} > Part {ordinal}",
                        token_count=120,
                        embedding=vectors[ordinal],
                    )
                )
        Chunk.objects.bulk_create(chunks, batch_size=2000)
        chunks_index_text(document_ids=[d.pk for d in documents], language="english")
        term_stats_add(document_ids=[d.pk for d in documents])
        chunk_rows = list(Chunk.objects.values_list("pk", "document_id"))
        titles = {d.pk: d.title for d in documents}
        conversations = args.messages // 20
        for n in range(conversations):
            user = people[n % len(people)]
            conversation = Conversation.objects.create(user=user, title=f"Question thread {n}")
            messages = Message.objects.bulk_create(
                [
                    Message(
                        conversation=conversation,
                        role=MessageRole.USER if turn % 2 == 0 else MessageRole.ASSISTANT,
                        text=" ".join(rng.choice(words, 15 if turn % 2 == 0 else 80).tolist()),
                    )
                    for turn in range(20)
                ]
            )
            citations, feedback = [], []
            for turn, answer in enumerate(messages[1::2]):
                for marker in range(1, CITATIONS_PER_ANSWER + 1):
                    chunk_id, document_id = chunk_rows[int(rng.integers(len(chunk_rows)))]
                    citations.append(
                        Citation(
                            message=answer,
                            marker=marker,
                            chunk_id=chunk_id,
                            document_id=document_id,
                            workspace_id_at_answer=0,
                            document_title=titles[document_id],
                            passage_text="passage",
                            quote="quote",
                            score=0.5,
                        )
                    )
                if turn % 2 == 0:
                    feedback.append(Feedback(message=answer, user=user, rating=1, comment="ok"))
            Citation.objects.bulk_create(citations)
            Feedback.objects.bulk_create(feedback)
        expected = {
            "documents": Document.objects.count(),
            "chunks": Chunk.objects.count(),
            "conversations": Conversation.objects.count(),
            "messages": Message.objects.count(),
        }
    print(f"built {expected} in {time.perf_counter() - start:.0f} s")

    load_before = os.getloadavg()
    worker = start_worker(app, pool="solo", perform_ping_check=False, queues=["bench-export"])
    with worker, tenant_context(organization):
        start = time.perf_counter()
        export = data_export_start(actor=User.objects.get(pk=owner.pk))
        while DataExport.objects.get(pk=export.pk).is_busy:
            time.sleep(0.1)
        export_seconds = time.perf_counter() - start
        export.refresh_from_db()
    load_after = os.getloadavg()
    assert export.status == "ready", export.error
    archive_path = Path(media) / export.file_name
    print(
        f"export: {export_seconds:.1f} s from the click to a ready archive; "
        f"{export.size / 1e6:.1f} MB; {export.counts}"
    )

    schema_public_activate()
    fresh, _ = organization_signup(
        name="Bench Import",
        slug="bench-import",
        owner_email="owner@import.example",
        owner_password="bench-pass-123",  # noqa: S106
    )
    start = time.perf_counter()
    call_command("organization_import", str(archive_path), tenant="bench-import")
    import_seconds = time.perf_counter() - start
    with tenant_context(fresh):
        imported = {
            "documents": Document.objects.count(),
            "chunks": Chunk.objects.count(),
            "conversations": Conversation.objects.count(),
            "messages": Message.objects.count(),
        }
    print(
        f"import: {import_seconds:.1f} s; round trip {'exact' if imported == expected else 'DIFFERS'}"
        f" ({imported})"
    )
    print(
        f"load average (1, 5, 15 min) before the export {load_before}, after {load_after}; "
        f"{os.cpu_count()} cores"
    )
    result = {
        "export_seconds": round(export_seconds, 2),
        "archive_mb": round(export.size / 1e6, 1),
        "import_seconds": round(import_seconds, 2),
        "round_trip_exact": imported == expected,
        **expected,
        "load_before": load_before,
        "load_after": load_after,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
