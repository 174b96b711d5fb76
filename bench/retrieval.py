"""Retrieval speed and filtered HNSW recall on a synthetic organization.

    .venv/bin/python bench/retrieval.py [--chunks 100000] [--queries 500] [--reuse]
                                        [--compare REF]

N chunks spread over 50 workspaces; the searching user may read 5 of them (10 % of the
rows pass the filter). Every chunk is distinct: a stated mixture of three real texts. The
sources are the 5,183 SciFact abstracts and the 1,048 SQuAD contexts of ../shared/eval
(6,231 texts, embedded here with the product's all-MiniLM-L6-v2 and kept in
.run/bench-retrieval-sources.npz). Chunk n takes three different sources a, b, c at
random; its text is one sentence of each, and its vector is the normalised
0.6 a + 0.25 b + 0.15 c of their real embeddings. With 6,231 sources there are about
4e10 such triples, so no two chunks are near-copies (the nearest other chunk of a chunk
is printed), while chunks sharing a main source form the topical neighbourhoods a real
corpus has. Queries are SciFact's claims with their real embeddings. (Random unit
vectors in 384 dimensions are nearly equidistant from every query, which makes
graph-index recall meaningless; noisy copies of a few thousand vectors, as this script
used before, make ties that graph indexes cannot order.)
Prints p50/p95 of each mode, the query embedding time on its own, and HNSW recall@10
against exact search with the same filter, in the same run, and ends with one JSON line.

The database is `bench_retrieval_<N>`; `--reuse` keeps one a previous run built (building
1M chunks and their HNSW index takes the better part of an hour on two cores).
`--compare REF` also runs the retrieval module as it is at git REF (e.g. `main`),
query by query interleaved with the working tree's, so that both see the same load on a
shared machine.
"""

import argparse
import functools
import hashlib
import importlib.util
import inspect
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlparse, urlunparse

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCIFACT = ROOT.parent / "shared" / "eval" / "scifact"
SQUAD = ROOT.parent / "shared" / "eval" / "squad"
WORKSPACES, READABLE = 50, 5
COPY_BATCH = 20_000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


MIXTURE = (0.6, 0.25, 0.15)
SENTENCE = re.compile(r"(?<=[.!?])\s+")


def source_texts() -> list[str]:
    """SciFact's abstracts and SQuAD's contexts: the real texts every chunk mixes."""
    with (SCIFACT / "corpus.jsonl").open() as lines:
        texts = [json.loads(line)["text"] for line in lines]
    squad = json.loads((SQUAD / "dev-v1.1-part1.json").read_text())
    texts += [p["context"] for article in squad["data"] for p in article["paragraphs"]]
    return [text for text in texts if len(text) > 60]


def source_vectors(texts: list[str]) -> np.ndarray:
    """The real embeddings of `texts`, computed once and kept under .run/."""
    cache = ROOT / ".run" / "bench-retrieval-sources.npz"
    from workspaces.embedding.model import embeddings_default, embeddings_model_id

    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    key = f"{embeddings_model_id()}:{len(texts)}:{digest}"
    if cache.exists():
        kept = np.load(cache)
        if str(kept["key"]) == key:
            return kept["vectors"]
    start = time.perf_counter()
    vectors = np.asarray(embeddings_default().embed_documents(texts), dtype=np.float32)
    print(f"embedded {len(texts)} source texts in {time.perf_counter() - start:.0f} s")
    cache.parent.mkdir(exist_ok=True)
    np.savez(cache, key=np.array(key), vectors=vectors)
    return vectors


def bench_database_use(name: str, *, reuse: bool) -> bool:
    """Point DATABASE_URL at database `name`; True when it is kept from an earlier run."""
    import psycopg

    from bench.signup import _libpq
    from localdev.services import ensure_local_services

    ensure_local_services()  # the dev settings read DATABASE_URL and REDIS_URL
    url = os.environ["DATABASE_URL"]
    parsed = urlparse(url)
    os.environ["DATABASE_URL"] = urlunparse(parsed._replace(path=f"/{name}"))
    admin_url = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if reuse and exists:
            return True
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return False


def retrieval_at(ref: str) -> ModuleType:
    """The retrieval module as it is at git `ref`, loaded as a module of its own. Before the
    knowledge base moved to workspaces/ it was assistant/retrieval.py, and before the rooms
    workspaces/retrieval.py; its imports of the modules that moved with it are pointed at
    their new places."""
    for path in (
        "workspaces/search/retrieval.py",
        "workspaces/retrieval.py",
        "assistant/retrieval.py",
    ):
        shown = subprocess.run(
            ["git", "show", f"{ref}:{path}"], cwd=ROOT, capture_output=True, text=True
        )
        if shown.returncode == 0:
            break
    shown.check_returncode()
    source = shown.stdout.replace("from assistant.embeddings", "from workspaces.embedding.model")
    baseline = Path(tempfile.mkdtemp()) / "retrieval_baseline.py"
    baseline.write_text(source)
    spec = importlib.util.spec_from_file_location("retrieval_baseline", baseline)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def as_reader(retrieve: Callable[..., Any], reader: Any, readable: list[int]) -> Callable[..., Any]:
    """A search as the reader: through the access policy where the retriever takes the user
    (since the policy moved into retrieval), else over the readable ids as before."""
    if "user" in inspect.signature(retrieve).parameters:
        return functools.partial(retrieve, user=reader, within=readable)
    return functools.partial(retrieve, workspace_ids=readable)


def corpus_build(chunks: int, workspaces: list[Any], rng: random.Random) -> None:
    from django.db import connection, transaction

    from workspaces.ingestion.term_stats import chunks_index_text, term_stats_add

    np_rng = np.random.default_rng(7)
    texts = source_texts()
    sentences = [[s for s in SENTENCE.split(text) if len(s) > 20] or [text] for text in texts]
    vectors_of_source = source_vectors(texts)
    print(f"{len(texts)} real source texts; each chunk mixes three of them {MIXTURE}")
    start = time.perf_counter()
    with connection.cursor() as cursor:
        # Indexes are built once after the load: maintained row by row they cost far more.
        cursor.execute("DROP INDEX chunk_embedding_hnsw")
        cursor.execute("DROP INDEX chunk_search_gin")
        documents = max(1, chunks // 20)
        cursor.execute(
            "INSERT INTO workspaces_document (workspace_id, title, original_name, kind, file,"
            " previous_file, size, sha256, status, error, chunks_total, chunks_done, version,"
            " title_is_custom, ocr_confidence, tags, deliveries, created_at, updated_at)"
            " SELECT (%s::bigint[])[1 + n %% %s], 'Doc ' || n, n || '.md', 'markdown', '', '', 0, md5(n::text),"
            " 'ready', '', 20, 20, 1, false, '{}', '{}', 0, now(), now()"
            " FROM generate_series(0, %s - 1) n",
            [[w.pk for w in workspaces], WORKSPACES, documents],
        )
        cursor.execute("SELECT id, workspace_id FROM workspaces_document ORDER BY id")
        document_rows = cursor.fetchall()
        with cursor.cursor.copy(
            "COPY assistant_chunk (document_id, workspace_id, ordinal, text, heading_path,"
            " token_count, lexeme_count, embedding) FROM STDIN"
        ) as copy:
            for batch_start in range(0, chunks, COPY_BATCH):
                size = min(COPY_BATCH, chunks - batch_start)
                numbers = np.arange(batch_start, batch_start + size)
                sources = np.stack(
                    [np_rng.choice(len(texts), 3, replace=False) for _ in range(size)]
                )
                vectors = vectors_of_source[sources].transpose(0, 2, 1) @ np.asarray(MIXTURE)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                rows = []
                for n, vector, chosen in zip(numbers.tolist(), vectors, sources, strict=True):
                    document_id, workspace_id = document_rows[n % len(document_rows)]
                    text = " ".join(rng.choice(sentences[i]) for i in chosen.tolist())
                    text = text.replace("\t", " ").replace("\\", " ").replace("\n", " ")
                    embedding = "[" + ",".join(f"{x:.5f}" for x in vector.tolist()) + "]"
                    rows.append(
                        f"{document_id}\t{workspace_id}\t{n // len(document_rows)}\t{text}\t\t50\t0\t{embedding}\n"
                    )
                copy.write("".join(rows))
        # tsvectors and lengths before the HNSW index exists: each row version written
        # with the index in place would be inserted into the graph again.
        chunks_index_text(document_ids=[row[0] for row in document_rows], language="english")
        cursor.execute("VACUUM ANALYZE assistant_chunk")
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        # The graph of 1M 384-d vectors takes about 2.5 GB; built in memory it is many
        # times faster than once it spills.
        cursor.execute("SET maintenance_work_mem = '4GB'")
        cursor.execute(
            "CREATE INDEX chunk_embedding_hnsw ON assistant_chunk USING hnsw (embedding vector_cosine_ops)"
            " WITH (m = 16, ef_construction = 64)"
        )
        indexed = time.perf_counter() - start
        start = time.perf_counter()
        cursor.execute("CREATE INDEX chunk_search_gin ON assistant_chunk USING gin (search)")
        with transaction.atomic():
            term_stats_add(document_ids=[row[0] for row in document_rows])
        cursor.execute("VACUUM ANALYZE")
        stats = time.perf_counter() - start
    print(f"load {loaded:.0f} s, HNSW build {indexed:.0f} s, GIN + term statistics {stats:.0f} s")


def timed(function: Callable[..., Any], **kwargs: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = function(**kwargs)
    return (time.perf_counter() - t0) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--reuse", action="store_true", help="keep an already-built database")
    parser.add_argument("--compare", metavar="REF", help="also run retrieval.py at git REF")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")
    reused = bench_database_use(f"bench_retrieval_{args.chunks}", reuse=args.reuse)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django_tenants.utils import tenant_context

    from accounts.models import Role, User
    from members.actions.signup import organization_signup
    from tenants.models import Organization
    from tenants.services import platform_ensure
    from workspaces.embedding.model import embeddings_default
    from workspaces.models import Workspace, WorkspaceGrant
    from workspaces.search import retrieval

    rng = random.Random(7)
    queries = [json.loads(line)["text"] for line in (SCIFACT / "queries.jsonl").open()]
    queries = rng.sample(queries, min(args.queries, len(queries)))
    if reused:
        organization = Organization.objects.get(slug="bench")
    else:
        call_command("migrate_schemas", interactive=False, verbosity=0)
        platform_ensure()
        organization, _ = organization_signup(
            name="Bench", slug="bench", owner_email="b@bench.example",
            owner_password="bench-pass-123",  # noqa: S106  (throwaway database)
        )  # fmt: skip
    with tenant_context(organization):
        if not reused:
            for n in range(WORKSPACES):
                Workspace.objects.create(name=f"W{n}", slug=f"w{n}")
        workspaces = list(Workspace.objects.order_by("pk"))
        readable = [w.pk for w in random.Random(11).sample(workspaces, READABLE)]
        # The searching member, with a viewer grant on each readable workspace: every
        # search goes through the access policy, as the product's do.
        reader, created = User.objects.get_or_create(
            email="reader@bench.example", defaults={"role": Role.MEMBER}
        )
        if created:
            for pk in readable:
                WorkspaceGrant.objects.create(workspace_id=pk, user=reader, role="viewer")
        implementations: dict[str, Callable[..., Any]] = {
            "new": as_reader(retrieval.chunks_retrieve, reader, readable)
        }
        if args.compare:
            implementations = {
                f"at {args.compare}": as_reader(
                    retrieval_at(args.compare).chunks_retrieve, reader, readable
                ),
                "working tree": implementations["new"],
            }
        if not reused:
            corpus_build(args.chunks, workspaces, rng)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM assistant_chunk")
            (total,) = cursor.fetchone()
            cursor.execute("SHOW shared_buffers")
            (shared_buffers,) = cursor.fetchone()
            # Steady state, as on a server that keeps answering this tenant: the graph, the
            # GIN index and the heap in shared_buffers (when they fit) rather than each
            # mode paying for the first reads from disk or the OS cache.
            start = time.perf_counter()
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm SCHEMA public")
            for relation in ("chunk_embedding_hnsw", "chunk_search_gin", "assistant_chunk"):
                cursor.execute("SELECT public.pg_prewarm(%s::regclass)", [relation])
            prewarmed = time.perf_counter() - start
            cursor.execute(
                "SELECT pg_relation_size('chunk_embedding_hnsw'), pg_relation_size('chunk_search_gin'),"
                " pg_total_relation_size('assistant_chunk')"
            )
            hnsw_bytes, gin_bytes, table_bytes = cursor.fetchone()
            # How distinct the chunks are: each sampled chunk's nearest other chunk (graph
            # search, which can only miss a nearer one).
            cursor.execute(
                "SELECT avg(nearest), max(nearest) FROM ("
                " SELECT (SELECT 1 - (o.embedding <=> c.embedding) FROM assistant_chunk o"
                "  WHERE o.id <> c.id ORDER BY o.embedding <=> c.embedding LIMIT 1) AS nearest"
                " FROM assistant_chunk c WHERE c.id %% %s = 0) s",
                [max(1, total // 200)],
            )
            nearest_mean, nearest_max = cursor.fetchone()
        print(
            f"sizes: HNSW {hnsw_bytes / 2**20:.0f} MB, GIN {gin_bytes / 2**20:.0f} MB,"
            f" table with indexes {table_bytes / 2**20:.0f} MB; nearest other chunk of 200"
            f" sampled: cosine mean {nearest_mean:.3f}, max {nearest_max:.3f}"
        )
        print(
            f"{total} chunks in {WORKSPACES} workspaces; the user reads {READABLE}"
            f"{' (database reused)' if reused else ''}; shared_buffers {shared_buffers},"
            f" prewarmed in {prewarmed:.0f} s"
        )

        model = embeddings_default()
        embed_ms = []
        for query in queries[:100]:
            t0 = time.perf_counter()
            model.embed_query(query)
            embed_ms.append((time.perf_counter() - t0) * 1000)
        vectors = model.embed_documents(queries)
        names = list(implementations)
        latency_of: dict[str, dict[str, list[float]]] = {}
        for mode in ("vector", "lexical", "hybrid"):
            latencies: dict[str, list[float]] = {name: [] for name in names}
            for index, (query, vector) in enumerate(zip(queries, vectors, strict=True)):
                # Alternate which implementation goes first so neither inherits a warm cache.
                for name in names if index % 2 == 0 else names[::-1]:
                    ms, _ = timed(
                        implementations[name], query=query, k=10,
                        mode=mode, query_vector=vector,
                    )  # fmt: skip
                    latencies[name].append(ms)
            latency_of[mode] = latencies
            for name in names:
                print(
                    f"{mode:8s} p50 {statistics.median(latencies[name]):6.1f} ms"
                    f"  p95 {percentile(latencies[name], 0.95):6.1f} ms  ({name})"
                )
        print(
            f"query embedding alone (all-MiniLM-L6-v2, CPU): p50 {statistics.median(embed_ms):.1f} ms, p95 {percentile(embed_ms, 0.95):.1f} ms"
        )

        recalls: dict[str, list[float]] = {name: [] for name in names}
        exact_sql = (
            "SELECT id FROM assistant_chunk WHERE workspace_id = ANY(%s)"
            " ORDER BY embedding <=> %s::vector LIMIT 10"
        )
        for query, vector in zip(queries, vectors, strict=True):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_indexscan = off")
                cursor.execute(exact_sql, [readable, "[" + ",".join(map(str, vector)) + "]"])
                exact = {row[0] for row in cursor.fetchall()}
            for name in names:
                found = implementations[name](query=query, k=10, mode="vector", query_vector=vector)
                recalls[name].append(len({c.chunk_id for c in found} & exact) / 10)
        for name in names:
            print(
                f"filtered HNSW recall@10 vs exact: {statistics.mean(recalls[name]):.3f} ({name})"
            )
        figures: dict[str, Any] = {"chunks": total}
        for name in names:
            suffix = "" if name == names[-1] else "_baseline"
            figures |= {
                f"vector_p95_ms{suffix}": round(percentile(latency_of["vector"][name], 0.95), 1),
                f"lexical_p95_ms{suffix}": round(percentile(latency_of["lexical"][name], 0.95), 1),
                f"hybrid_p50_ms{suffix}": round(statistics.median(latency_of["hybrid"][name]), 1),
                f"hybrid_p95_ms{suffix}": round(percentile(latency_of["hybrid"][name], 0.95), 1),
                f"filtered_recall_at_10{suffix}": round(statistics.mean(recalls[name]), 3),
            }
        figures |= {
            "hnsw_mb": round(hnsw_bytes / 2**20),
            "table_with_indexes_mb": round(table_bytes / 2**20),
            "nearest_other_cosine_mean": round(float(nearest_mean), 3),
        }
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
