"""An organization created before chunks and term statistics moved from the assistant app to
workspaces (state-only migrations, tables kept) still has its knowledge base afterwards.

The old side is the real code at the commit before the move, run in a subprocess from an
export of that commit against a throwaway database on the test settings' PostgreSQL server:
it migrates, signs up two organizations, ingests a document and answers a question with
citations. Then this checkout migrates the same database and reads everything back through
the new models. One organization only signs up, so that no billing page ever read-creates
its billing account: billing migration 0003 has to give it one.
"""

import io
import json
import os
import secrets
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection

REPO = Path(__file__).resolve().parents[2]
BEFORE_MOVE = "e822918"
RESULT_MARK = "MOVE_CHECK_RESULT "
SUBPROCESS_TIMEOUT = 600

HANDBOOK = """\
# Travel policy

## Per diem

Employees travelling abroad receive a per diem of 85 euros a day for meals. The per diem
is paid with the next salary after the expense report is approved.

## Hotels

Hotel receipts must be submitted within 30 days of returning. Rooms above 180 euros a
night need the approval of a department head before booking.

## Trains and flights

Trains are preferred for journeys under four hours. Flights are booked through the travel
desk at least two weeks before departure.
"""
QUESTION = "How much is the per diem for meals when travelling abroad?"

# What both scripts read back, under the names both the old and the new code import.
SNAPSHOT = r"""
def embedding_digest(embedding):
    return None if embedding is None else hashlib.sha256(
        numpy.asarray(embedding, dtype=numpy.float32).tobytes()
    ).hexdigest()


def knowledge_base(citations):
    return {
        "documents": [
            {"id": d.pk, "title": d.title, "status": d.status, "chunks_total": d.chunks_total}
            for d in Document.objects.order_by("pk")
        ],
        "chunks": [
            {
                "id": c.pk, "document_id": c.document_id, "workspace_id": c.workspace_id,
                "ordinal": c.ordinal, "text": c.text, "heading_path": c.heading_path,
                "lexeme_count": c.lexeme_count, "embedding": embedding_digest(c.embedding),
                "search": c.search,
            }
            for c in Chunk.objects.order_by("pk")
        ],
        "term_stats": {t.lexeme: t.chunk_count for t in TermStat.objects.all()},
        "corpus_stats": [
            {"chunk_count": s.chunk_count, "lexeme_total": s.lexeme_total}
            for s in CorpusStat.objects.all()
        ],
        "conversations": [
            {"id": c.pk, "title": c.title, "user_id": c.user_id,
             "scope": sorted(c.scope.values_list("pk", flat=True))}
            for c in Conversation.objects.order_by("pk")
        ],
        "messages": [
            {"id": m.pk, "conversation_id": m.conversation_id, "role": m.role, "text": m.text,
             "status": m.status, "answered": m.answered}
            for m in Message.objects.order_by("pk")
        ],
        "citations": [
            {"id": c.pk, "message_id": c.message_id, "marker": c.marker,
             "chunk_id": c.chunk_id, "document_id": c.document_id, "quote": c.quote}
            for c in citations
        ],
    }
"""

# Runs with the code at BEFORE_MOVE (its tree is the working directory, first on sys.path).
OLD_SCRIPT = r"""
import asyncio, hashlib, json, sys

import django

django.setup()

import numpy
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django_tenants.utils import tenant_context

import assistant.models
from assistant.answering import answer_events
from assistant.conversations import question_ask
from assistant.models import Chunk, Citation, Conversation, CorpusStat, Message, TermStat
from assistant.services import documents_ingest
from billing.models import BillingAccount
from tenants.services import organization_signup, platform_ensure
from workspaces.models import Document
from workspaces.services import document_upload, workspace_create

params = json.loads(sys.argv[1])
__SNAPSHOT__
call_command("migrate_schemas", interactive=False, verbosity=0)
platform_ensure()
organization, owner = organization_signup(
    name="Before Move", slug="before-move", owner_email="owner@before-move.example",
    owner_password="owner-password-1",
)
quiet, _ = organization_signup(
    name="Quiet", slug="quiet-org", owner_email="owner@quiet.example",
    owner_password="owner-password-1",
)
with tenant_context(organization):
    workspace = workspace_create(actor=owner, name="Handbook")
    upload = SimpleUploadedFile(
        "travel.md", params["document"].encode(), content_type="text/markdown"
    )
    document = document_upload(
        actor=owner, workspace=workspace, upload=upload, queue_ingestion=False
    )
    documents_ingest(document_ids=[document.pk])
    _, _, reply = question_ask(user=owner, text=params["question"], scope_ids=[workspace.pk])


async def drain():
    async for _ in answer_events(tenant=organization, message_id=reply.pk):
        pass


asyncio.run(drain())


with tenant_context(organization):
    result = {
        "code": assistant.models.__file__,
        "schema": organization.schema_name,
        "owner_id": owner.pk,
        "workspace_id": workspace.pk,
        **knowledge_base(list(Citation.objects.order_by("pk"))),
        "chunk_content_type_id": ContentType.objects.get_for_model(Chunk).pk,
    }
result["billing_account_before"] = {
    o.slug: BillingAccount.objects.filter(organization=o).exists() for o in (organization, quiet)
}
print(__MARK__ + json.dumps(result))
"""

# Runs with this checkout's code on the database the old script left behind.
NEW_SCRIPT = r"""
import hashlib, io, json, sys

import django

django.setup()

import numpy
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db.migrations.recorder import MigrationRecorder
from django_tenants.utils import tenant_context

import workspaces.models
from accounts.models import User
from assistant.models import Citation, Conversation, Message
from billing.models import BillingAccount
from tenants.models import Organization
from workspaces.embedding.model import embeddings_default
from workspaces.models import Chunk, CorpusStat, Document, TermStat
from workspaces.search.retrieval import chunks_retrieve

params = json.loads(sys.argv[1])
__SNAPSHOT__
call_command("migrate_schemas", interactive=False, verbosity=0)


organization = Organization.objects.get(schema_name=params["schema"])
with tenant_context(organization):
    owner = User.objects.get(pk=params["owner_id"])
    query_vector = embeddings_default().embed_query(params["question"])
    citations = list(Citation.objects.select_related("chunk").order_by("pk"))
    result = {
        "code": workspaces.models.__file__,
        **knowledge_base(citations),
        "cited_chunks": [
            c.chunk and {"model": c.chunk._meta.label, "id": c.chunk.pk, "text": c.chunk.text}
            for c in citations
        ],
        "retrieved": {
            mode: [
                r.chunk_id
                for r in chunks_retrieve(
                    user=owner, query=params["question"], within=[params["workspace_id"]],
                    mode=mode, query_vector=query_vector,
                )
            ]
            for mode in ("hybrid", "vector", "lexical")
        },
        "chunk_content_type_id": ContentType.objects.get_for_model(Chunk).pk,
        "stale_content_types": sorted(
            ContentType.objects.filter(
                app_label="assistant", model__in=["chunk", "termstat", "corpusstat"]
            ).values_list("model", flat=True)
        ),
        "tenant_migrations": sorted(
            f"{m.app}.{m.name}"
            for m in MigrationRecorder.Migration.objects.filter(
                app__in=["workspaces", "assistant"]
            )
        ),
    }
result["billing_accounts"] = {
    o.slug: BillingAccount.objects.filter(organization=o).values_list("plan__slug", flat=True).first()
    for o in Organization.objects.exclude(schema_name="public").exclude(is_template=True)
}
# A state that disagrees with the models (a db_table left out of 0002) loses no rows, since
# the models name the tables, but the next makemigrations would write a migration moving them.
model_changes = io.StringIO()
result["model_changes"] = ""
try:
    call_command(
        "makemigrations", "workspaces", "assistant", check=True, dry_run=True,
        stdout=model_changes,
    )
except SystemExit:
    result["model_changes"] = model_changes.getvalue().strip()
print(__MARK__ + json.dumps(result))
"""


def python_run(tree: Path, script: str, env: dict[str, str], params: dict[str, Any]) -> Any:
    """Run `script` with the code in `tree`; the JSON it printed after RESULT_MARK."""
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            script.replace("__MARK__", repr(RESULT_MARK)).replace("__SNAPSHOT__", SNAPSHOT),
            json.dumps(params),
        ],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )
    output = f"in {tree}, exit {completed.returncode}\n--- stdout\n{completed.stdout[-6000:]}"
    output += f"\n--- stderr\n{completed.stderr[-6000:]}"
    assert completed.returncode == 0, output
    marked = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARK)]
    assert len(marked) == 1, output
    return json.loads(marked[0].removeprefix(RESULT_MARK))


def tree_before_move(destination: Path) -> Path:
    """The repository's files at BEFORE_MOVE, exported (no worktree is registered)."""
    present = subprocess.run(
        ["git", "cat-file", "-e", f"{BEFORE_MOVE}^{{commit}}"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert present.returncode == 0, (
        f"Commit {BEFORE_MOVE} (the last one before chunks moved to workspaces) is not in "
        f"the repository at {REPO}; this test needs the full history (git fetch --unshallow). "
        f"git said: {present.stderr.strip()}"
    )
    archive = subprocess.run(
        ["git", "archive", "--format=tar", BEFORE_MOVE], cwd=REPO, capture_output=True, check=True
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(destination, filter="data")
    return destination


@pytest.fixture
def throwaway_database_url() -> Iterator[str]:
    """A new database on the server the test settings use, dropped afterwards."""
    server = connection.settings_dict
    name = f"move_check_{secrets.token_hex(4)}"
    admin = {
        "host": server["HOST"],
        "port": server["PORT"] or None,
        "user": server["USER"],
        "password": server["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    credentials = quote(server["USER"], safe="")
    if server["PASSWORD"]:
        credentials += ":" + quote(server["PASSWORD"], safe="")
    try:
        yield f"postgres://{credentials}@{quote(server['HOST'], safe='')}:{server['PORT']}/{name}"
    finally:
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_organization_made_before_the_move_keeps_its_knowledge_base(
    throwaway_database_url: str, tmp_path: Path
) -> None:
    old_tree = tree_before_move(tmp_path / "before-move")
    env = {
        **{key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
        "DJANGO_SETTINGS_MODULE": "saas.settings.dev",
        "DJANGO_SECRET_KEY": "move-check-secret-key",
        "DATABASE_URL": throwaway_database_url,
        "REDIS_URL": os.environ["REDIS_URL"],
        "SAAS_RUN_DIR": str(tmp_path / "run"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "EMBEDDINGS_PROVIDER": "local",
        "EMBEDDINGS_PRELOAD": "0",
        "ASSISTANT_PROVIDER": "extractive",
        "ASSISTANT_EXTRACTIVE_STREAM_DELAY_MS": "0",
        "LOG_LEVEL": "WARNING",
    }

    before = python_run(old_tree, OLD_SCRIPT, env, {"document": HANDBOOK, "question": QUESTION})
    after = python_run(
        REPO,
        NEW_SCRIPT,
        env,
        {
            "schema": before["schema"],
            "owner_id": before["owner_id"],
            "workspace_id": before["workspace_id"],
            "question": QUESTION,
        },
    )

    assert before["code"].startswith(str(old_tree)), before["code"]
    assert after["code"].startswith(str(REPO)), after["code"]
    # The old side really built what the new side must find.
    assert [d["status"] for d in before["documents"]] == ["ready"]
    assert len(before["chunks"]) == 3
    assert all(c["embedding"] and c["search"] for c in before["chunks"])
    assert before["term_stats"]["diem"] == 1
    assert before["corpus_stats"][0]["chunk_count"] == 3
    assert [m["status"] for m in before["messages"]] == ["done", "done"]
    assert before["messages"][1]["answered"] is True
    assert before["citations"]
    assert before["billing_account_before"]["quiet-org"] is False

    assert "workspaces.0002_chunks_move_here" in after["tenant_migrations"]
    assert "assistant.0006_chunks_moved_to_workspaces" in after["tenant_migrations"]
    assert after["documents"] == before["documents"]
    assert after["chunks"] == before["chunks"]
    assert after["term_stats"] == before["term_stats"]
    assert after["corpus_stats"] == before["corpus_stats"]
    assert after["conversations"] == before["conversations"]
    assert after["messages"] == before["messages"]
    assert after["citations"] == before["citations"]
    chunk_texts = {c["id"]: c["text"] for c in before["chunks"]}
    assert after["cited_chunks"] == [
        {"model": "workspaces.Chunk", "id": c["chunk_id"], "text": chunk_texts[c["chunk_id"]]}
        for c in before["citations"]
    ]
    # Both legs still work on the moved rows: the HNSW index and embeddings, the tsvector
    # and the term statistics; the passage the old answer cited comes first in each.
    first_cited = before["citations"][0]["chunk_id"]
    assert after["retrieved"]["hybrid"][0] == first_cited, after["retrieved"]
    assert after["retrieved"]["vector"][0] == first_cited, after["retrieved"]
    assert after["retrieved"]["lexical"][0] == first_cited, after["retrieved"]
    # Permissions and generic relations keep pointing at the same content type row.
    assert after["chunk_content_type_id"] == before["chunk_content_type_id"], (
        "the moved Chunk got a new content type instead of keeping the old row"
    )
    assert after["stale_content_types"] == []
    assert after["billing_accounts"] == {"before-move": "free", "quiet-org": "free"}
    assert after["model_changes"] == ""
