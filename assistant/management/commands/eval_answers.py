import asyncio
import json
import secrets
import statistics
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandParser
from django.test import override_settings
from django_tenants.utils import tenant_context
from tqdm import tqdm

from assistant.answering import MARKER, answer_events
from assistant.conversations import question_ask
from assistant.evaluation.squad import SquadDataset, contains_answer, squad_load
from assistant.models import Message
from billing.services import organization_unmetered
from members.services import organization_signup
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from workspaces.embedding_cache import CachedEmbeddings
from workspaces.embeddings import embeddings_get
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import Workspace
from workspaces.services import WorkspaceError, document_upload, workspace_create

GROUP = 64


class Command(BaseCommand):
    help = (
        "Evaluate answers on a SQuAD-format file: every paragraph becomes a document of a "
        "throwaway organization, every question is asked through the real answering path."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--squad", type=Path, required=True, help="SQuAD-format JSON file")
        parser.add_argument("--provider", choices=["extractive", "vertex"], default="extractive")
        parser.add_argument("--max-questions", type=int, default=0)
        parser.add_argument("--keep", action="store_true", help="keep the evaluation organization")

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = squad_load(options["squad"], max_questions=options["max_questions"])
        organization, owner = organization_signup(
            name=f"Evaluation {options['squad'].stem}",
            slug=f"eval-{secrets.token_hex(4)}",
            owner_email="eval@eval.example",
            owner_password=secrets.token_urlsafe(16),
        )
        organization_unmetered(organization=organization)
        # Answers are timed without the extractive provider's reading-pace pauses.
        overrides = override_settings(
            ASSISTANT_PROVIDER=options["provider"], ASSISTANT_EXTRACTIVE_STREAM_DELAY_MS=0
        )
        try:
            with overrides, tenant_context(organization):
                workspace = workspace_create(actor=owner, name="Paragraphs")
                documents = self._load(dataset, workspace, owner)
                result = self._ask(dataset, documents, organization, owner)
        finally:
            schema_public_activate()
            if not options["keep"]:
                Organization.objects.get(pk=organization.pk).delete(force_drop=True)
        self.stdout.write(json.dumps(result))

    def _load(self, dataset: SquadDataset, workspace: Workspace, owner: Any) -> dict[int, int]:
        """Document id -> paragraph index."""
        embeddings = CachedEmbeddings(
            embeddings_get(),
            settings.BASE_DIR / ".run" / "embedding-cache.sqlite3",
            "all-MiniLM-L6-v2",
        )
        documents: dict[int, int] = {}
        paragraphs = list(enumerate(dataset.paragraphs))
        bar = tqdm(total=len(paragraphs), desc="paragraphs", unit="doc", disable=None)
        for start in range(0, len(paragraphs), GROUP):
            ids = []
            for index, (title, context) in paragraphs[start : start + GROUP]:
                upload = ContentFile(f"# {title}\n\n{context}\n".encode(), name=f"p{index}.md")
                try:
                    document = document_upload(
                        actor=owner, workspace=workspace, upload=upload, queue_ingestion=False
                    )
                except WorkspaceError:
                    continue  # the same paragraph twice: the first copy stands for both
                documents[document.pk] = index
                ids.append(document.pk)
            documents_ingest(document_ids=ids, embeddings=embeddings)
            bar.update(len(paragraphs[start : start + GROUP]))
        bar.close()
        return documents

    def _ask(
        self, dataset: SquadDataset, documents: dict[int, int], organization: Any, owner: Any
    ) -> dict[str, Any]:
        answered = hits = refusals = citations = precise = 0
        latencies: list[float] = []
        contexts = [context for _, context in dataset.paragraphs]
        for question in tqdm(dataset.questions, desc="questions", unit="q", disable=None):
            started = time.perf_counter()
            _, _, reply = question_ask(user=owner, text=question.question)
            asyncio.run(_drain(organization, reply.pk))
            latencies.append((time.perf_counter() - started) * 1000)
            message = Message.objects.prefetch_related("citations").get(pk=reply.pk)
            if not message.answered:
                refusals += 1
            if contains_answer(MARKER.sub(" ", message.text), question.answers):
                answered += 1
            cited = [
                documents[c.document_id]
                for c in message.citations.all()
                if c.document_id is not None and c.document_id in documents
            ]
            if question.paragraph in cited:
                hits += 1
            citations += len(cited)
            precise += sum(contains_answer(contexts[p], question.answers) for p in cited)
        count = len(dataset.questions)
        return {
            "answer_recall": round(answered / count, 4) if count else None,
            "source_hit": round(hits / count, 4) if count else None,
            "citation_precision": round(precise / citations, 4) if citations else None,
            "refusals": refusals,
            "questions": count,
            "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            "p95_ms": round(_percentile(latencies, 0.95), 1) if latencies else None,
        }


async def _drain(organization: Any, message_id: int) -> None:
    async for _ in answer_events(tenant=organization, message_id=message_id):
        pass


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
