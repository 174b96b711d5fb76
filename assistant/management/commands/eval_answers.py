import json
import statistics
import time
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test import override_settings
from tqdm import tqdm

from assistant.answering import MARKER, answer_events
from assistant.conversations import question_ask
from assistant.evaluation.handbook import HandbookItem, Outcome, handbook_load, handbook_metrics
from assistant.evaluation.squad import (
    SquadDataset,
    articles_slice,
    contains_answer,
    squad_load,
)
from assistant.models import Conversation, Message, MessageStatus
from tenants.schemas import run_outside_server
from workspaces.evaluation.organization import (
    cached_embeddings,
    evaluation_organization,
    folder_upload,
)
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import Workspace
from workspaces.services import WorkspaceError, document_upload, workspace_create

GROUP = 64


class Command(BaseCommand):
    help = (
        "Evaluate answers, through the real upload, ingestion and answering paths of a "
        "throwaway organization, on a SQuAD-format file (every paragraph a document) or on a "
        "folder of documents with a JSONL file of questions (handbook format)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--squad", type=Path, help="SQuAD-format JSON file")
        parser.add_argument("--docs", type=Path, help="folder of documents to upload")
        parser.add_argument("--questions", type=Path, help="JSONL questions about --docs")
        parser.add_argument("--out", type=Path, help="write one JSON line per question here")
        parser.add_argument("--provider", choices=["extractive", "vertex"], default="extractive")
        parser.add_argument("--max-questions", type=int, default=0)
        parser.add_argument(
            "--articles",
            type=articles_slice,
            default=slice(None),
            help="with --squad, only these articles (`20:24`: SQuAD part 1's validation split)",
        )
        parser.add_argument("--keep", action="store_true", help="keep the evaluation organization")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["squad"] and not (options["docs"] or options["questions"]):
            name = options["squad"].stem
        elif options["docs"] and options["questions"] and not options["squad"]:
            name = options["docs"].name
        else:
            raise CommandError("Give either --squad FILE, or --docs DIR with --questions FILE.")
        # Answers are timed without the extractive provider's reading-pace pauses, and each
        # one is made: a repeated question is not answered from the cache.
        overrides = override_settings(
            ASSISTANT_PROVIDER=options["provider"], ASSISTANT_EXTRACTIVE_STREAM_DELAY_MS=0,
            ANSWER_CACHE_SECONDS=0,
        )  # fmt: skip
        session = evaluation_organization(name=name, keep=options["keep"])
        with overrides, session as (organization, owner):
            if options["squad"]:
                dataset = squad_load(
                    options["squad"],
                    max_questions=options["max_questions"],
                    articles=options["articles"],
                )
                workspace = workspace_create(actor=owner, name="Paragraphs")
                documents = self._load(dataset, workspace, owner)
                result = self._ask(dataset, documents, organization, owner)
            else:
                items = handbook_load(options["questions"])
                if options["max_questions"]:
                    items = items[: options["max_questions"]]
                workspace = workspace_create(actor=owner, name="Documents")
                names = folder_upload(options["docs"], workspace, owner)
                outcomes = [
                    self._converse(item, names, organization, owner)
                    for item in tqdm(items, desc="questions", unit="q", disable=None)
                ]
                if options["out"]:
                    _outcomes_write(options["out"], outcomes)
                result = handbook_metrics(outcomes)
        self.stdout.write(json.dumps(result))

    def _load(self, dataset: SquadDataset, workspace: Workspace, owner: Any) -> dict[int, int]:
        """Document id -> paragraph index."""
        embeddings = cached_embeddings()
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

    def _converse(
        self, item: HandbookItem, names: dict[int, str], organization: Any, owner: Any
    ) -> Outcome:
        """Every turn in one new conversation, as a person would ask them; the last is
        scored."""
        conversation: Conversation | None = None
        for turn in item.turns:
            conversation, _, reply = question_ask(user=owner, text=turn, conversation=conversation)
            run_outside_server(_drain(organization, reply.pk))
        message = Message.objects.prefetch_related("citations").get(pk=reply.pk)
        return Outcome(
            item=item,
            answer=" ".join(MARKER.sub(" ", message.text).split()),
            refused=message.status == MessageStatus.DONE and not message.answered,
            cited_sources=tuple(
                names[c.document_id] for c in message.citations.all() if c.document_id in names
            ),
            first_token_ms=message.first_token_ms,
            search_query=message.search_query,
            failed=message.status != MessageStatus.DONE,
        )

    def _ask(
        self, dataset: SquadDataset, documents: dict[int, int], organization: Any, owner: Any
    ) -> dict[str, Any]:
        answered = hits = refusals = citations = precise = 0
        latencies: list[float] = []
        contexts = [context for _, context in dataset.paragraphs]
        for question in tqdm(dataset.questions, desc="questions", unit="q", disable=None):
            started = time.perf_counter()
            _, _, reply = question_ask(user=owner, text=question.question)
            run_outside_server(_drain(organization, reply.pk))
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


def _outcomes_write(path: Path, outcomes: list[Outcome]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for outcome in outcomes:
            row = {
                "id": outcome.item.qid,
                "kind": outcome.item.kind,
                "question": outcome.item.turns[-1],
                "searched": outcome.search_query,
                "answer": outcome.answer,
                "refused": outcome.refused,
                "failed": outcome.failed,
                "citations": list(outcome.cited_sources),
                "source": outcome.item.source,
                "gold": list(outcome.item.answers),
                "correct": outcome.correct,
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


async def _drain(organization: Any, message_id: int) -> None:
    async for _ in answer_events(tenant=organization, message_id=message_id):
        pass


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
