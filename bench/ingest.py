"""Ingestion throughput: documents through the real pipeline (store the file, parse,
normalise, chunk, embed, write chunks with their tsvector) against the bare embedding
model on the same chunk texts, in the same run; and the configured runtime
(EMBEDDINGS_LOCAL_RUNTIME, ONNX by default) against torch on those texts, slice by slice in
turn so that a change in the machine's load falls on both.

    .venv/bin/python bench/ingest.py [--corpus ../shared/eval/scifact/corpus.jsonl] [--limit N]

The last line is JSON: pipeline_chunks_per_s, bare_chunks_per_s, ratio, torch_chunks_per_s,
speedup (bare over torch), query_p50_ms, torch_query_p50_ms, load.

Each BEIR corpus entry becomes a Markdown document "# title" + text. Uses a throwaway
database (`bench_ingest`) on the embedded PostgreSQL (or DATABASE_URL's server).
"""

import argparse
import json
import os
import statistics
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
    from members.actions.signup import organization_signup
    from tenants.services import platform_ensure
    from workspaces.embedding.backends import embeddings_local
    from workspaces.embedding.model import embeddings_default
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

    embeddings = embeddings_default()
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

    torch = embeddings_local(runtime="torch")
    torch.embed_documents(["warm up the model"] * 8)
    size = settings.EMBEDDING_BATCH_SIZE
    bare_seconds = torch_seconds = 0.0
    # Slices of four batches, each embedded by both models in turn.
    for first in range(0, len(texts), 4 * size):
        part = texts[first : first + 4 * size]
        start = time.perf_counter()
        embeddings.embed_documents(part)
        bare_seconds += time.perf_counter() - start
        start = time.perf_counter()
        torch.embed_documents(part)
        torch_seconds += time.perf_counter() - start
    queries = [entry["title"] or entry["text"][:80] for entry in corpus[:200]]
    query_ms, torch_query_ms = [], []
    for query in queries:
        start = time.perf_counter()
        embeddings.embed_query(query)
        query_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        torch.embed_query(query)
        torch_query_ms.append((time.perf_counter() - start) * 1000)

    pipeline_rate, bare_rate = len(texts) / pipeline_seconds, len(texts) / bare_seconds
    torch_rate = len(texts) / torch_seconds
    ingested = len(corpus) - duplicates
    runtime = settings.EMBEDDINGS_LOCAL_RUNTIME
    print(f"documents: {ingested} ingested ({duplicates} duplicates refused), chunks: {len(texts)}")
    print(
        f"pipeline end to end ({runtime}): {pipeline_seconds:.1f} s, {pipeline_rate:.1f} chunks/s"
    )
    print(f"bare model ({runtime}), batch {size}: {bare_seconds:.1f} s, {bare_rate:.1f} chunks/s")
    print(f"bare model (torch), same texts: {torch_seconds:.1f} s, {torch_rate:.1f} chunks/s")
    print(f"ratio pipeline / bare model: {pipeline_rate / bare_rate:.2f}")
    print(f"speedup {runtime} / torch: {bare_rate / torch_rate:.2f}")
    print(
        f"query embedding p50: {statistics.median(query_ms):.1f} ms ({runtime}), "
        f"{statistics.median(torch_query_ms):.1f} ms (torch), {len(queries)} queries"
    )
    figures = {
        "runtime": runtime,
        "chunks": len(texts),
        "pipeline_chunks_per_s": round(pipeline_rate, 1),
        "bare_chunks_per_s": round(bare_rate, 1),
        "ratio": round(pipeline_rate / bare_rate, 2),
        "torch_chunks_per_s": round(torch_rate, 1),
        "speedup": round(bare_rate / torch_rate, 2),
        "query_p50_ms": round(statistics.median(query_ms), 1),
        "torch_query_p50_ms": round(statistics.median(torch_query_ms), 1),
        "load": [round(value, 2) for value in os.getloadavg()],
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
