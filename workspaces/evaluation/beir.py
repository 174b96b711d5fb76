"""Reading a dataset in BEIR format: corpus.jsonl, queries.jsonl, qrels/<split>.tsv."""

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from workspaces.evaluation.metrics import Qrels


@dataclass(frozen=True)
class BeirDataset:
    corpus: dict[str, tuple[str, str]]  # docid -> (title, text)
    queries: dict[str, str]
    qrels: Qrels


def beir_load(directory: Path, *, split: str = "test", max_queries: int = 0) -> BeirDataset:
    corpus = {}
    with (directory / "corpus.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            entry = json.loads(line)
            corpus[str(entry["_id"])] = (entry.get("title") or "", entry.get("text") or "")
    qrels: Qrels = {}
    with (directory / "qrels" / f"{split}.tsv").open(encoding="utf-8", newline="") as rows:
        for row in csv.reader(rows, delimiter="\t"):
            if not row or row[0] == "query-id":
                continue
            qrels.setdefault(row[0].strip(), {})[row[1].strip()] = int(row[2])
    queries = {}
    with (directory / "queries.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            entry = json.loads(line)
            if str(entry["_id"]) in qrels:
                queries[str(entry["_id"])] = entry["text"]
    qids = sorted(queries, key=lambda qid: (len(qid), qid))
    if max_queries:
        qids = qids[:max_queries]
    return BeirDataset(
        corpus=corpus,
        queries={qid: queries[qid] for qid in qids},
        qrels={qid: qrels[qid] for qid in qids},
    )
