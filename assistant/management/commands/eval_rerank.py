import json
import statistics
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from assistant.answer_model.examples import as_asked
from assistant.answer_model.rerank import chunks_rerank_local
from assistant.evaluation.handbook import handbook_load
from assistant.evaluation.squad import contains_answer
from workspaces.evaluation.beir import beir_load
from workspaces.evaluation.metrics import Run, ndcg_at
from workspaces.evaluation.organization import evaluation_organization, folder_upload
from workspaces.management.commands.eval_retrieval import Command as RetrievalEvaluation
from workspaces.models import Document
from workspaces.search.retrieval import RetrievedChunk, chunks_retrieve
from workspaces.services import workspace_create


class Command(BaseCommand):
    help = (
        "Measure the local rerank provider (the answer model) against the fused order, over "
        "RERANK_CANDIDATES fused candidates: on a handbook-format set, the rank of the first "
        "passage of the source file holding a gold answer (top 1, top 5); on a BEIR set, "
        "nDCG@10; and the time reranking takes per question."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--docs", type=Path)
        parser.add_argument("--questions", type=Path)
        parser.add_argument("--beir", type=Path)
        parser.add_argument("--split", default="test")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["beir"]:
            result = self._beir(options["beir"], options["split"])
        elif options["docs"] and options["questions"]:
            result = self._handbook(options["docs"], options["questions"])
        else:
            raise CommandError("Give --docs DIR with --questions FILE, or --beir DIR.")
        self.stdout.write(json.dumps(result))

    def _handbook(self, docs: Path, questions: Path) -> dict[str, Any]:
        items = [item for item in handbook_load(questions) if item.answerable]
        fused_ranks: list[int | None] = []
        reranked_ranks: list[int | None] = []
        timings: list[float] = []
        with evaluation_organization(name=docs.name) as (_, owner):
            workspace = workspace_create(actor=owner, name="Documents")
            names = folder_upload(docs, workspace, owner)
            for item in tqdm(items, desc="questions", unit="q", disable=None):
                question = as_asked(item.turns)
                chunks = _candidates(owner, question, [workspace.pk])
                started = time.perf_counter()
                reranked = chunks_rerank_local(query=question, chunks=chunks, language="english")
                timings.append((time.perf_counter() - started) * 1000)

                def gold(chunk: RetrievedChunk, item: Any = item) -> bool:
                    return names.get(chunk.document_id) == item.source and contains_answer(
                        chunk.text, item.answers
                    )

                fused_ranks.append(_first(chunks, gold))
                reranked_ranks.append(_first(reranked, gold))
        return {
            "fused": _rank_shares(fused_ranks),
            "reranked": _rank_shares(reranked_ranks),
            "rerank_p50_ms": round(statistics.median(timings), 1),
            "questions": len(items),
        }

    def _beir(self, folder: Path, split: str) -> dict[str, Any]:
        dataset = beir_load(folder, split=split)
        fused: Run = {}
        reranked: Run = {}
        timings: list[float] = []
        with evaluation_organization(name=folder.name) as (_, owner):
            workspace = workspace_create(actor=owner, name="Corpus")
            RetrievalEvaluation()._load(dataset, workspace, owner)
            docids = {
                pk: name.rsplit(".", 1)[0]
                for pk, name in Document.objects.filter(workspace=workspace).values_list(
                    "pk", "original_name"
                )
            }
            for qid, text in tqdm(dataset.queries.items(), desc="queries", disable=None):
                chunks = _candidates(owner, text, [workspace.pk])
                started = time.perf_counter()
                ordered = chunks_rerank_local(query=text, chunks=chunks, language="english")
                timings.append((time.perf_counter() - started) * 1000)
                fused[qid] = _document_scores(chunks, docids)
                reranked[qid] = _document_scores(ordered, docids)
        return {
            "fused_ndcg@10": round(ndcg_at(fused, dataset.qrels, 10), 4),
            "reranked_ndcg@10": round(ndcg_at(reranked, dataset.qrels, 10), 4),
            "rerank_p50_ms": round(statistics.median(timings), 1),
            "queries": len(dataset.qrels),
        }


def _candidates(owner: Any, question: str, within: list[int]) -> list[RetrievedChunk]:
    return chunks_retrieve(user=owner, query=question, within=within, k=settings.RERANK_CANDIDATES)


def _first(chunks: list[RetrievedChunk], wanted: Any) -> int | None:
    return next((rank for rank, chunk in enumerate(chunks, start=1) if wanted(chunk)), None)


def _rank_shares(ranks: list[int | None]) -> dict[str, float]:
    count = max(1, len(ranks))
    return {
        "top1": round(sum(r == 1 for r in ranks) / count, 4),
        "top5": round(sum(r is not None and r <= 5 for r in ranks) / count, 4),
        "found": round(sum(r is not None for r in ranks) / count, 4),
    }


def _document_scores(chunks: list[RetrievedChunk], docids: dict[int, str]) -> dict[str, float]:
    """The order of the chunks as document scores (a document ranks at its best chunk)."""
    scores: dict[str, float] = {}
    for rank, chunk in enumerate(chunks):
        scores.setdefault(docids[chunk.document_id], float(len(chunks) - rank))
    return scores
