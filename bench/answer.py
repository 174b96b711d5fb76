"""Answer streaming speed against a running server (uvicorn, one worker process).

    .venv/bin/python bench/answer.py [--questions 60] [--delay-ms 400] [--concurrent 50]
                                     [--rerank] [--workers 1]

Builds a throwaway database (`bench_answer`) on the embedded PostgreSQL with two
organizations: "demo" (the twelve sample documents) and "big" (SciFact abstracts through
the real pipeline until about 10k chunks; embeddings from .run/embedding-cache.sqlite3 when
`eval_retrieval` has filled it, computed otherwise). Questions are stored directly; what is
timed is the answer stream a browser opens (GET .../stream/, server-sent events): time to
the first "partial" event (first token) and to the "done" event (last token).

1. Extractive provider, demo and big: p50/p95 first and last token.
2. Vertex provider against the local Vertex-format server with a fixed first-token delay:
   our overhead = first token seen by the client - that delay (retrieval, prompt, the
   client library, SSE), p50/p95.
3. 50 streams at once on that server (the model delay makes them overlap): errors, the
   overhead under load, and another page (/ask/) fetched meanwhile against the same page
   fetched idle. `--workers N` runs that server as N uvicorn processes (WEB_CONCURRENCY).
4. Where the extractive first token's time goes, in this process, per question: the query
   embedding, the retrieval SQL, sentence scoring (the provider's plan and its first piece),
   and the rest of the client's first-token time (claiming the message, the cache check,
   HTTP and the first server-sent event).
5. With --rerank: the latency the rerank step adds (RERANK_PROVIDER=vertex, the real
   client against the local server's ranking endpoint), over RERANK_CANDIDATES fused
   candidates of the demo questions, in this process.

The answer cache is off for the servers (ANSWER_CACHE_SECONDS=0): the questions repeat, and
a cached answer would time no retrieval and no model. The last line is one JSON object.
"""

import argparse
import asyncio
import contextlib
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.signup import percentile, use_bench_database  # noqa: E402

DEMO_QUESTIONS = [
    "How many vacation days do employees get?",
    "Can I carry over unused vacation days?",
    "What is the limit for accepting a gift?",
    "What is the battery life of the NR-350?",
    "How long is the warranty on the NR-200?",
    "Do contractors get VPN access?",
    "What is the hotel limit per night?",
    "How do I report a security incident?",
    "How much is the home office stipend?",
    "Which days are the office anchor days?",
    "How long is parental leave?",
    "What is the response time for a P1 incident?",
]
SCIFACT = ROOT.parent / "shared" / "eval" / "scifact"


def build(target_chunks: int) -> dict[str, dict[str, str]]:
    """The two organizations; returns their hosts and session cookies."""
    from django.conf import settings
    from django.core.files.base import ContentFile
    from django.core.management import call_command
    from django.test import Client
    from django_tenants.utils import tenant_context

    from billing.services import organization_unmetered
    from members.actions.signup import organization_signup
    from tenants.services import platform_ensure
    from workspaces.embedding.cache import CachedEmbeddings
    from workspaces.embedding.model import embeddings_default, embeddings_model_id
    from workspaces.ingestion.pipeline import documents_ingest
    from workspaces.models import Chunk
    from workspaces.services import WorkspaceError, document_upload, workspace_create

    settings.MEDIA_ROOT = ROOT / ".run" / "bench-media"
    call_command("migrate_schemas", interactive=False, verbosity=0)
    platform_ensure()
    # Keyed by the model that makes the vectors (its runtime and export included), as
    # eval_retrieval keys them: a torch evaluation must not read this runtime's vectors.
    embeddings = CachedEmbeddings(
        embeddings_default(), ROOT / ".run" / "embedding-cache.sqlite3", embeddings_model_id()
    )
    sessions = {}
    for slug in ("demo", "big"):
        organization, owner = organization_signup(
            name=slug.title(), slug=slug, owner_email=f"owner@{slug}.example",
            owner_password="bench-pass-123",  # noqa: S106  (throwaway database)
        )  # fmt: skip
        organization_unmetered(organization=organization)
        with tenant_context(organization):
            workspace = workspace_create(actor=owner, name="Knowledge", is_open=True)
            if slug == "demo":
                files = [p for p in sorted((ROOT / "samples").iterdir()) if p.name != "README.md"]
                ids = [
                    document_upload(
                        actor=owner, workspace=workspace, queue_ingestion=False,
                        upload=ContentFile(path.read_bytes(), name=path.name),
                    ).pk
                    for path in files
                ]  # fmt: skip
                documents_ingest(document_ids=ids, embeddings=embeddings)
            else:
                with (SCIFACT / "corpus.jsonl").open() as lines:
                    corpus = [json.loads(line) for line in lines]
                for start in range(0, len(corpus), 64):
                    if Chunk.objects.count() >= target_chunks:
                        break
                    ids = []
                    for entry in corpus[start : start + 64]:
                        body = f"# {entry['title']}\n\n{entry['text']}\n".encode()
                        with contextlib.suppress(WorkspaceError):
                            ids.append(document_upload(
                                actor=owner, workspace=workspace, queue_ingestion=False,
                                upload=ContentFile(body, name=f"{entry['_id']}.md"),
                            ).pk)  # fmt: skip
                    documents_ingest(document_ids=ids, embeddings=embeddings)
            print(f"  {slug}: {Chunk.objects.count()} chunks", file=sys.stderr)
            client = Client(HTTP_HOST=f"{slug}.localhost")
            client.force_login(owner)
            sessions[slug] = {
                "host": f"{slug}.localhost",
                "cookie": f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}",
            }
    return sessions


def questions_store(slug: str, questions: list[str], provider: str = "extractive") -> list[int]:
    """Pending answers for `provider` (a message keeps the provider it was asked with)."""
    from django.test import override_settings
    from django_tenants.utils import tenant_context

    from accounts.models import User
    from assistant.conversations import question_ask
    from tenants.models import Organization

    organization = Organization.objects.get(slug=slug)
    with tenant_context(organization), override_settings(ASSISTANT_PROVIDER=provider):
        owner = User.objects.get(email=f"owner@{slug}.example")
        return [question_ask(user=owner, text=q)[2].pk for q in questions]


async def stream(
    client, base: str, session: dict[str, str], message_id: int
) -> tuple[float, float]:
    """(first token ms, last token ms) of one answer stream."""
    started = time.perf_counter()
    first = None
    url = f"{base}/ask/messages/{message_id}/stream/"
    headers = {"host": session["host"], "cookie": session["cookie"]}
    async with client.stream("GET", url, headers=headers) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("event: partial") and first is None:
                first = (time.perf_counter() - started) * 1000
            if line.startswith("event: done"):
                last = (time.perf_counter() - started) * 1000
                if first is None:
                    raise RuntimeError("the stream ended without a partial event")
                return first, last
    raise RuntimeError("the stream closed before its done event")


def breakdown(slug: str, questions: list[str]) -> dict[str, float]:
    """p50 ms of each step before the extractive answer's first piece, in this process."""
    from django_tenants.utils import tenant_context

    from accounts.models import User
    from assistant.answering import searchable_workspace_ids
    from assistant.llm import Passage, provider_get
    from assistant.llm.followups import question_focus
    from tenants.models import Organization
    from workspaces.embedding.model import embeddings_default
    from workspaces.search.retrieval import chunks_retrieve
    from workspaces.selectors import workspace_language

    async def first_piece(stream: Any) -> None:
        async for _ in stream:
            return

    steps: dict[str, list[float]] = {"embedding": [], "sql": [], "sentence_scoring": []}
    with tenant_context(Organization.objects.get(slug=slug)):
        owner = User.objects.get(email=f"owner@{slug}.example")
        workspace_ids = searchable_workspace_ids(user=owner, scope_ids=())
        language = workspace_language(workspace_id=workspace_ids[0])
        provider = provider_get("extractive")
        for question in questions:
            focus = question_focus(question)
            started = time.perf_counter()
            vector = embeddings_default().embed_query(focus)
            embedded = time.perf_counter()
            chunks = chunks_retrieve(
                user=owner, query=focus, within=workspace_ids, k=6, query_vector=vector
            )
            retrieved = time.perf_counter()
            prepared = provider.prepare(
                question=question,
                passages=[Passage(n, chunk) for n, chunk in enumerate(chunks, start=1)],
                history=(), language=language, workspace_ids=workspace_ids,
                question_vector=vector, original=question,
            )  # fmt: skip
            asyncio.run(first_piece(provider.astream(prepared)))
            scored = time.perf_counter()
            steps["embedding"].append((embedded - started) * 1000)
            steps["sql"].append((retrieved - embedded) * 1000)
            steps["sentence_scoring"].append((scored - retrieved) * 1000)
    return {name: statistics.median(values) for name, values in steps.items()}


def rerank_latencies(slug: str, questions: list[str], base_url: str) -> list[float]:
    """ms of each rerank call over the fused candidates, through the real client."""
    from django.conf import settings
    from django_tenants.utils import tenant_context

    from accounts.models import User
    from tenants.models import Organization
    from workspaces.search.rerank import chunks_rerank, rerank_client_forget
    from workspaces.search.retrieval import chunks_retrieve

    settings.RERANK_PROVIDER, settings.RERANK_BASE_URL = "vertex", base_url
    settings.VERTEX_ACCESS_TOKEN, settings.VERTEX_PROJECT = "bench", "bench"
    rerank_client_forget()
    out = []
    with tenant_context(Organization.objects.get(slug=slug)):
        owner = User.objects.get(email=f"owner@{slug}.example")
        for question in questions:
            chunks = chunks_retrieve(user=owner, query=question, k=settings.RERANK_CANDIDATES)
            started = time.perf_counter()
            reranked = chunks_rerank(query=question, chunks=chunks)
            out.append((time.perf_counter() - started) * 1000)
            assert sorted(c.chunk_id for c in reranked) == sorted(c.chunk_id for c in chunks)
    settings.RERANK_PROVIDER = "none"
    return out


def summary(name: str, values: list[float]) -> str:
    return f"{name} p50 {statistics.median(values):7.1f} ms  p95 {percentile(values, 0.95):7.1f} ms"


async def sequential(
    base: str, session: dict[str, str], ids: list[int]
) -> tuple[list[float], list[float]]:
    import httpx

    firsts, lasts = [], []
    async with httpx.AsyncClient(timeout=60) as client:
        for message_id in ids:
            first, last = await stream(client, base, session, message_id)
            firsts.append(first)
            lasts.append(last)
    return firsts, lasts


async def page_latencies(
    base: str, session: dict[str, str], stop: asyncio.Event, out: list[float]
) -> None:
    import httpx

    headers = {"host": session["host"], "cookie": session["cookie"]}
    async with httpx.AsyncClient(timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            response = await client.get(f"{base}/ask/", headers=headers)
            response.raise_for_status()
            out.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.1)


async def concurrent(
    base: str, session: dict[str, str], ids: list[int]
) -> tuple[list[float], int, list[float]]:
    import httpx

    pages: list[float] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(page_latencies(base, session, stop, pages))
    limits = httpx.Limits(max_connections=len(ids) + 5)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        results = await asyncio.gather(
            *(stream(client, base, session, i) for i in ids), return_exceptions=True
        )
    stop.set()
    await watcher
    errors = sum(isinstance(r, BaseException) for r in results)
    firsts = [r[0] for r in results if not isinstance(r, BaseException)]
    return firsts, errors, pages


async def idle_pages(base: str, session: dict[str, str], seconds: float) -> list[float]:
    out: list[float] = []
    stop = asyncio.Event()
    task = asyncio.create_task(page_latencies(base, session, stop, out))
    await asyncio.sleep(seconds)
    stop.set()
    await task
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--delay-ms", type=int, default=400, help="model's first-token delay")
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--big-chunks", type=int, default=10_000)
    parser.add_argument("--rerank", action="store_true", help="time the rerank step too")
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn processes of the Vertex server"
    )
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    use_bench_database("bench_answer")
    import django

    django.setup()
    from localdev.vertex_server import VertexLocalServer
    from tests.live import free_port, uvicorn_running

    sessions = build(args.big_chunks)
    figures: dict[str, object] = {}
    questions = (DEMO_QUESTIONS * (args.questions // len(DEMO_QUESTIONS) + 1))[: args.questions]
    with open(SCIFACT / "queries.jsonl") as lines:
        claims = [json.loads(line)["text"] for line in lines][: args.questions]

    print(f"\nExtractive provider ({args.questions} answers each, one at a time)")
    port = free_port()
    with uvicorn_running(port, DJANGO_SETTINGS_MODULE="saas.settings.dev",
                         DATABASE_URL=os.environ["DATABASE_URL"], ANSWER_CACHE_SECONDS="0"):  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        for slug, asked in (("demo", questions), ("big", claims)):
            ids = questions_store(slug, asked)
            asyncio.run(sequential(base, sessions[slug], ids[:3]))  # warm-up
            firsts, lasts = asyncio.run(sequential(base, sessions[slug], ids[3:]))
            print(
                f"  {slug:5s} "
                + summary("first token", firsts)
                + "   "
                + summary("last token", lasts)
            )
            if slug == "demo":
                figures["first_token_p50_ms"] = round(statistics.median(firsts), 1)
                figures["first_token_p95_ms"] = round(percentile(firsts, 0.95), 1)
            steps = breakdown(slug, asked[3:])
            rest = statistics.median(firsts) - sum(steps.values())
            print(
                "        where the first token's p50 goes: "
                + "  ".join(f"{name} {value:.1f} ms" for name, value in steps.items())
                + f"  claim, cache check, HTTP and first flush {rest:.1f} ms"
            )
            figures[f"{slug}_breakdown_ms"] = {
                **{name: round(value, 1) for name, value in steps.items()},
                "claim_http_first_flush": round(rest, 1),
            }

    vertex = VertexLocalServer().start()
    vertex.first_token_delay = args.delay_ms / 1000
    vertex.token_delay = 0.05
    print(
        f"\nVertex provider, local Vertex-format server with a {args.delay_ms} ms first-token delay;"
        f" {args.workers} uvicorn process(es)"
    )
    port = free_port()
    environment = {
        "DJANGO_SETTINGS_MODULE": "saas.settings.dev", "DATABASE_URL": os.environ["DATABASE_URL"],
        "ASSISTANT_PROVIDER": "vertex", "VERTEX_BASE_URL": vertex.base_url,
        "VERTEX_ACCESS_TOKEN": "bench", "VERTEX_PROJECT": "bench", "VERTEX_MAX_RETRIES": "0",
        "ANSWER_CACHE_SECONDS": "0", "WEB_CONCURRENCY": str(args.workers),
    }  # fmt: skip
    with uvicorn_running(port, **environment):
        base = f"http://127.0.0.1:{port}"
        ids = questions_store("demo", questions, "vertex")
        asyncio.run(sequential(base, sessions["demo"], ids[:3]))
        firsts, _ = asyncio.run(sequential(base, sessions["demo"], ids[3:]))
        overheads = [f - args.delay_ms for f in firsts]
        print("  one at a time:   " + summary("overhead", overheads))
        figures["overhead_p50_ms"] = round(statistics.median(overheads), 1)
        idle = asyncio.run(idle_pages(base, sessions["demo"], 3.0))
        ids = questions_store("demo", (questions * 5)[: args.concurrent], "vertex")
        firsts, errors, pages = asyncio.run(concurrent(base, sessions["demo"], ids))
        print(f"  {args.concurrent} at once:      " + summary("overhead", [f - args.delay_ms for f in firsts])
              + f"   errors {errors}")  # fmt: skip
        figures["concurrent_overhead_p50_ms"] = (
            round(statistics.median(firsts) - args.delay_ms, 1) if firsts else None
        )
        figures["concurrent_overhead_p95_ms"] = (
            round(percentile(firsts, 0.95) - args.delay_ms, 1) if firsts else None
        )
        figures["errors"] = errors
        figures["page_idle_p95_ms"] = round(percentile(idle, 0.95), 1)
        figures["page_under_load_p95_ms"] = round(percentile(pages, 0.95), 1) if pages else None
        print("  /ask/ page idle:        " + summary("", idle))
        print(
            f"  /ask/ page, {args.concurrent} streams: "
            + summary("", pages)
            + f"  ({len(pages)} fetches)"
        )
    if args.rerank:
        vertex.rank_delay = 0.0
        latencies = rerank_latencies("demo", questions, vertex.base_url)
        print("\nRerank through the local ranking endpoint: " + summary("added", latencies))
        figures["rerank_added_p50_ms"] = round(statistics.median(latencies), 1)
        figures["rerank_added_p95_ms"] = round(percentile(latencies, 0.95), 1)
    vertex.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
