"""Ingestion throughput: documents through the real pipeline (store the file, parse,
normalise, chunk, embed, write chunks with their tsvector) against the bare embedding
model on the same chunk texts, in the same run.

    .venv/bin/python bench/ingest.py [--corpus ../shared/eval/scifact/corpus.jsonl] [--limit N]

Each BEIR corpus entry becomes a Markdown document "# title" + text. Uses a throwaway
database (`bench_ingest`) on the embedded PostgreSQL (or DATABASE_URL's server).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_CORPUS = ROOT.parent / "shared" / "eval" / "scifact" / "corpus.jsonl"
GROUP = 64


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=0, help="first N documents (0: all)")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")
    from bench.signup import use_bench_database

    use_bench_database("bench_ingest")
    import django

    django.setup()
    from django.conf import settings
    from django.core.files.base import ContentFile
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from billing.services import organization_unmetered
    from members.services import organization_signup
    from tenants.services import platform_ensure
    from workspaces.embeddings import embeddings_get
    from workspaces.ingestion.chunking import ChunkDraft
    from workspaces.ingestion.pipeline import documents_ingest
    from workspaces.models import Chunk
    from workspaces.services import WorkspaceError, document_upload, workspace_create

    settings.MEDIA_ROOT = ROOT / ".run" / "bench-media"
    call_command("migrate_schemas", interactive=False, verbosity=0)
    platform_ensure()
    organization, owner = organization_signup(
        name="Bench",
        slug="bench",
        owner_email="bench@bench.example",
        owner_password="bench-pass-123",  # noqa: S106  (throwaway database)
    )
    organization_unmetered(organization=organization)
    with args.corpus.open() as lines:
        corpus = [json.loads(line) for line in lines]
    if args.limit:
        corpus = corpus[: args.limit]

    embeddings = embeddings_get()
    embeddings.embed_documents(["warm up the model"] * 8)
    with tenant_context(organization):
        workspace = workspace_create(actor=owner, name="Corpus")
        duplicates = 0
        start = time.perf_counter()
        for first in range(0, len(corpus), GROUP):
            ids = []
            for entry in corpus[first : first + GROUP]:
                body = f"# {entry.get('title') or entry['_id']}\n\n{entry['text']}\n".encode()
                try:
                    document = document_upload(
                        actor=owner,
                        workspace=workspace,
                        upload=ContentFile(body, name=f"{entry['_id']}.md"),
                        queue_ingestion=False,
                    )
                except WorkspaceError:
                    duplicates += 1
                    continue
                ids.append(document.pk)
            documents_ingest(document_ids=ids)
        pipeline_seconds = time.perf_counter() - start
        texts = [
            ChunkDraft(0, text, page, heading, 0).embedding_text
            for text, page, heading in Chunk.objects.order_by("pk").values_list(
                "text", "page", "heading_path"
            )
        ]

    start = time.perf_counter()
    size = settings.EMBEDDING_BATCH_SIZE
    for first in range(0, len(texts), size):
        embeddings.embed_documents(texts[first : first + size])
    bare_seconds = time.perf_counter() - start

    pipeline_rate, bare_rate = len(texts) / pipeline_seconds, len(texts) / bare_seconds
    ingested = len(corpus) - duplicates
    print(f"documents: {ingested} ingested ({duplicates} duplicates refused), chunks: {len(texts)}")
    print(f"pipeline end to end: {pipeline_seconds:.1f} s, {pipeline_rate:.1f} chunks/s")
    print(f"bare model, same texts, batch {size}: {bare_seconds:.1f} s, {bare_rate:.1f} chunks/s")
    print(f"ratio pipeline / bare model: {pipeline_rate / bare_rate:.2f}")


if __name__ == "__main__":
    main()
