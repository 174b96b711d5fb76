import json
import statistics
import time
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from accounts.models import User
from workspaces.evaluation.beir import BeirDataset, beir_load
from workspaces.evaluation.metrics import Run, mrr_at, ndcg_at, recall_at
from workspaces.evaluation.organization import cached_embeddings, evaluation_organization
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import Document, Workspace
from workspaces.search.retrieval import MODES, chunks_retrieve
from workspaces.services import WorkspaceError, document_upload, workspace_create

GROUP = 64
# Chunks fetched per query: enough distinct documents for recall@100 once chunks are
# grouped by document (a document's score is its best chunk's).
CHUNKS_PER_QUERY = 300


class Command(BaseCommand):
    help = "Evaluate retrieval on a BEIR-format dataset, loaded through the real pipeline."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--beir", type=Path, required=True, help="dataset directory")
        parser.add_argument("--mode", choices=MODES, default="hybrid")
        parser.add_argument("--split", default="test")
        parser.add_argument("--max-queries", type=int, default=0)
        parser.add_argument("--run-out", type=Path, help="write a TREC run file here")
        parser.add_argument("--keep", action="store_true", help="keep the evaluation organization")

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = beir_load(
            options["beir"], split=options["split"], max_queries=options["max_queries"]
        )
        session = evaluation_organization(name=options["beir"].name, keep=options["keep"])
        with session as (_, owner):
            workspace = workspace_create(actor=owner, name="Corpus")
            self._load(dataset, workspace, owner)
            run, latencies = self._search(dataset, workspace, owner, options["mode"])
        if options["run_out"]:
            _write_trec_run(run, options["run_out"], tag=f"saas-{options['mode']}")
        qrels = dataset.qrels
        result = {
            "ndcg@10": round(ndcg_at(run, qrels, 10), 4),
            "recall@10": round(recall_at(run, qrels, 10), 4),
            "recall@100": round(recall_at(run, qrels, 100), 4),
            "mrr@10": round(mrr_at(run, qrels, 10), 4),
            "queries": len(qrels),
            "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            "p95_ms": round(_percentile(latencies, 0.95), 1) if latencies else None,
        }
        self.stdout.write(json.dumps(result))

    def _load(self, dataset: BeirDataset, workspace: Workspace, owner: User) -> None:
        embeddings = cached_embeddings()
        entries = list(dataset.corpus.items())
        bar = tqdm(total=len(entries), desc="corpus", unit="doc", disable=None)
        for start in range(0, len(entries), GROUP):
            ids = []
            for docid, (title, text) in entries[start : start + GROUP]:
                body = f"# {title}\n\n{text}\n" if title else f"{text}\n"
                try:
                    upload = ContentFile(body.encode(), name=f"{docid}.md")
                    document = document_upload(
                        actor=owner, workspace=workspace, upload=upload, queue_ingestion=False
                    )
                    ids.append(document.pk)
                except WorkspaceError:
                    pass  # the same text twice: the first copy stands for both ids
            documents_ingest(document_ids=ids, embeddings=embeddings)
            bar.update(len(entries[start : start + GROUP]))
        bar.close()
        self.stderr.write(f"embeddings: {embeddings.hits} cached, {embeddings.misses} computed")

    def _search(
        self, dataset: BeirDataset, workspace: Workspace, owner: User, mode: str
    ) -> tuple[Run, list[float]]:
        docids = {
            pk: name.rsplit(".", 1)[0]
            for pk, name in Document.objects.filter(workspace=workspace).values_list(
                "pk", "original_name"
            )
        }
        run: Run = {}
        latencies = []
        for qid, text in tqdm(dataset.queries.items(), desc=mode, unit="query", disable=None):
            start = time.perf_counter()
            chunks = chunks_retrieve(
                user=owner, query=text, within=[workspace.pk], k=CHUNKS_PER_QUERY, mode=mode,
                candidates=CHUNKS_PER_QUERY,
            )  # fmt: skip
            latencies.append((time.perf_counter() - start) * 1000)
            scores: dict[str, float] = {}
            for chunk in chunks:
                docid = docids[chunk.document_id]
                scores[docid] = max(scores.get(docid, float("-inf")), chunk.score)
            run[qid] = dict(sorted(scores.items(), key=lambda item: -item[1])[:100])
        return run, latencies


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _write_trec_run(run: Run, path: Path, *, tag: str) -> None:
    with path.open("w") as out:
        for qid, scores in run.items():
            ranked = sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)
            for rank, (docid, score) in enumerate(ranked, start=1):
                out.write(f"{qid} Q0 {docid} {rank} {score:.6f} {tag}\n")
