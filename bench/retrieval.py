"""Retrieval speed and filtered HNSW recall on a synthetic organization.

    .venv/bin/python bench/retrieval.py [--chunks 100000] [--queries 500]

N chunks spread over 50 workspaces; the searching user may read 5 of them (10 % of the
rows pass the filter). Chunk texts are real: sentences of the SciFact corpus
(../shared/eval/scifact) recombined, so the lexical leg sees real term statistics.
Vectors are real all-MiniLM-L6-v2 embeddings of SciFact chunks (from the embedding cache
that `eval_retrieval` fills, else 2,000 sentences embedded here), each reused with a little
Gaussian noise and renormalised; queries are SciFact's claims with their real embeddings.
(Random unit vectors in 384 dimensions are nearly equidistant from every query, which
makes graph-index recall meaningless.)
Prints p50/p95 of each mode, the query embedding time on its own, and HNSW recall@10
against exact search with the same filter, in the same run.
"""

import argparse
import io
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCIFACT = ROOT.parent / "shared" / "eval" / "scifact"
WORKSPACES, READABLE = 50, 5


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def real_vectors(rng: random.Random) -> np.ndarray:
    import sqlite3

    cache = ROOT / ".run" / "embedding-cache.sqlite3"
    if cache.exists():
        rows = sqlite3.connect(cache).execute("SELECT vector FROM embedding").fetchall()
        if rows:
            return np.stack([np.frombuffer(blob, dtype=np.float32) for (blob,) in rows])
    from assistant.embeddings import embeddings_get

    with (SCIFACT / "corpus.jsonl").open() as lines:
        texts = [json.loads(line)["text"] for line in lines]
    return np.asarray(embeddings_get().embed_documents(rng.sample(texts, 2000)), dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")
    from bench.signup import use_bench_database

    use_bench_database("bench_retrieval")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django_tenants.utils import tenant_context

    from assistant.embeddings import embeddings_get
    from assistant.retrieval import chunks_retrieve
    from tenants.services import organization_signup, platform_ensure
    from workspaces.models import Workspace

    call_command("migrate_schemas", interactive=False, verbosity=0)
    platform_ensure()
    organization, _ = organization_signup(
        name="Bench", slug="bench", owner_email="b@bench.example",
        owner_password="bench-pass-123",  # noqa: S106  (throwaway database)
    )  # fmt: skip
    rng = random.Random(7)
    np_rng = np.random.default_rng(7)
    sentences = []
    with (SCIFACT / "corpus.jsonl").open() as lines:
        for line in lines:
            sentences += [
                s for s in re.split(r"(?<=[.!?])\s+", json.loads(line)["text"]) if len(s) > 30
            ]
    queries = [json.loads(line)["text"] for line in (SCIFACT / "queries.jsonl").open()]
    queries = rng.sample(queries, min(args.queries, len(queries)))
    base_vectors = real_vectors(rng)

    with tenant_context(organization):
        workspaces = [
            Workspace.objects.create(name=f"W{n}", slug=f"w{n}") for n in range(WORKSPACES)
        ]
        readable = [w.pk for w in rng.sample(workspaces, READABLE)]
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX chunk_embedding_hnsw")
            documents = max(1, args.chunks // 20)
            cursor.execute(
                "INSERT INTO workspaces_document (workspace_id, title, original_name, kind, file,"
                " previous_file, size, sha256, status, error, chunks_total, chunks_done, version,"
                " created_at, updated_at)"
                " SELECT (%s::bigint[])[1 + n %% %s], 'Doc ' || n, n || '.md', 'markdown', '', '', 0, md5(n::text),"
                " 'ready', '', 20, 20, 1, now(), now() FROM generate_series(0, %s - 1) n",
                [[w.pk for w in workspaces], WORKSPACES, documents],
            )
            cursor.execute("SELECT id, workspace_id FROM workspaces_document ORDER BY id")
            document_rows = cursor.fetchall()
            buffer = io.StringIO()
            for n in range(args.chunks):
                document_id, workspace_id = document_rows[n % len(document_rows)]
                text = " ".join(rng.sample(sentences, 3)).replace("\t", " ").replace("\\", " ")
                vector = base_vectors[n % len(base_vectors)] + np_rng.normal(0, 0.02, 384)
                vector = (vector / np.linalg.norm(vector)).astype(np.float32)
                embedding = "[" + ",".join(f"{x:.5f}" for x in vector) + "]"
                buffer.write(
                    f"{document_id}\t{workspace_id}\t{n // len(document_rows)}\t{text}\t\t50\t0\t{embedding}\n"
                )
            buffer.seek(0)
            with cursor.cursor.copy(
                "COPY assistant_chunk (document_id, workspace_id, ordinal, text, heading_path,"
                " token_count, lexeme_count, embedding) FROM STDIN"
            ) as copy:
                copy.write(buffer.read())
            from assistant.term_stats import chunks_index_text, term_stats_add

            # tsvectors and lengths before the HNSW index exists: each row version written
            # with the index in place would be inserted into the graph again.
            chunks_index_text(document_ids=[row[0] for row in document_rows], language="english")
            loaded = time.perf_counter() - start
            start = time.perf_counter()
            cursor.execute("SET maintenance_work_mem = '2GB'")
            cursor.execute(
                "CREATE INDEX chunk_embedding_hnsw ON assistant_chunk USING hnsw (embedding vector_cosine_ops)"
                " WITH (m = 16, ef_construction = 64)"
            )
            indexed = time.perf_counter() - start
            start = time.perf_counter()
            with transaction.atomic():
                term_stats_add(document_ids=[row[0] for row in document_rows])
            stats = time.perf_counter() - start
            cursor.execute("VACUUM ANALYZE assistant_chunk")
        print(f"{args.chunks} chunks in {WORKSPACES} workspaces; the user reads {READABLE}")
        print(f"load {loaded:.0f} s, HNSW build {indexed:.0f} s, term statistics {stats:.1f} s")

        model = embeddings_get()
        embed_ms = []
        for query in queries[:100]:
            t0 = time.perf_counter()
            model.embed_query(query)
            embed_ms.append((time.perf_counter() - t0) * 1000)
        vectors = model.embed_documents(queries)
        for mode in ("vector", "lexical", "hybrid"):
            latencies = []
            for query, vector in zip(queries, vectors, strict=True):
                t0 = time.perf_counter()
                chunks_retrieve(
                    query=query, workspace_ids=readable, k=10, mode=mode, query_vector=vector
                )
                latencies.append((time.perf_counter() - t0) * 1000)
            print(
                f"{mode:8s} p50 {statistics.median(latencies):6.1f} ms  p95 {percentile(latencies, 0.95):6.1f} ms"
            )
        print(
            f"query embedding alone (all-MiniLM-L6-v2, CPU): p50 {statistics.median(embed_ms):.1f} ms, p95 {percentile(embed_ms, 0.95):.1f} ms"
        )

        recalls = []
        exact_sql = (
            "SELECT id FROM assistant_chunk WHERE workspace_id = ANY(%s)"
            " ORDER BY embedding <=> %s::vector LIMIT 10"
        )
        for query, vector in zip(queries, vectors, strict=True):
            found = {
                c.chunk_id
                for c in chunks_retrieve(
                    query=query, workspace_ids=readable, k=10, mode="vector", query_vector=vector
                )
            }
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_indexscan = off")
                cursor.execute(exact_sql, [readable, "[" + ",".join(map(str, vector)) + "]"])
                exact = {row[0] for row in cursor.fetchall()}
            recalls.append(len(found & exact) / 10)
        print(f"filtered HNSW recall@10 vs exact: {statistics.mean(recalls):.3f}")


if __name__ == "__main__":
    main()
