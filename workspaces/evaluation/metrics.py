"""IR metrics over a run ({qid: {docid: score}}) and qrels ({qid: {docid: grade}}), as
trec_eval computes them: documents ranked by score, ties broken by document id descending."""

import math

Run = dict[str, dict[str, float]]
Qrels = dict[str, dict[str, int]]


def _ranked(scores: dict[str, float]) -> list[str]:
    # trec_eval breaks ties on the document id in reverse string order.
    return [
        doc for doc, _ in sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)
    ]


def ndcg_at(run: Run, qrels: Qrels, k: int) -> float:
    total = 0.0
    for qid, relevant in qrels.items():
        ranked = _ranked(run.get(qid, {}))[:k]
        # Linear gains, as trec_eval's ndcg_cut (and so BEIR) uses.
        dcg = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked))
        ideal = sorted((grade for grade in relevant.values() if grade > 0), reverse=True)[:k]
        idcg = sum(grade / math.log2(rank + 2) for rank, grade in enumerate(ideal))
        total += dcg / idcg if idcg else 0.0
    return total / len(qrels) if qrels else 0.0


def recall_at(run: Run, qrels: Qrels, k: int) -> float:
    total = 0.0
    for qid, relevant in qrels.items():
        wanted = {doc for doc, grade in relevant.items() if grade > 0}
        found = set(_ranked(run.get(qid, {}))[:k]) & wanted
        total += len(found) / len(wanted) if wanted else 0.0
    return total / len(qrels) if qrels else 0.0


def mrr_at(run: Run, qrels: Qrels, k: int) -> float:
    total = 0.0
    for qid, relevant in qrels.items():
        for rank, doc in enumerate(_ranked(run.get(qid, {}))[:k], start=1):
            if relevant.get(doc, 0) > 0:
                total += 1 / rank
                break
    return total / len(qrels) if qrels else 0.0
