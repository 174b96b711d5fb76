"""The evaluation command's metrics agree with pytrec_eval (trec_eval's own code)."""

import random

import pytest
import pytrec_eval

from workspaces.evaluation.metrics import mrr_at, ndcg_at, recall_at


def dataset(seed: int) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, int]]]:
    rng = random.Random(seed)
    docs = [f"d{n}" for n in range(300)]
    run, qrels = {}, {}
    for q in range(25):
        qid = f"q{q}"
        qrels[qid] = {doc: rng.choice([1, 1, 2]) for doc in rng.sample(docs, rng.randint(1, 6))}
        run[qid] = {doc: round(rng.random(), 6) for doc in rng.sample(docs, 150)}
    return run, qrels


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_metrics_match_pytrec_eval(seed: int):
    run, qrels = dataset(seed)
    evaluator = pytrec_eval.RelevanceEvaluator(
        qrels, {"ndcg_cut.10", "recall.10", "recall.100", "recip_rank"}
    )
    reference = evaluator.evaluate(run)
    # trec_eval's recip_rank reads the whole list: give it the top 10 for MRR@10.
    top10 = {qid: dict(sorted(s.items(), key=lambda i: -i[1])[:10]) for qid, s in run.items()}
    reference_top10 = evaluator.evaluate(top10)

    def mean(values: dict[str, dict[str, float]], key: str) -> float:
        return sum(measures[key] for measures in values.values()) / len(values)

    assert ndcg_at(run, qrels, 10) == pytest.approx(mean(reference, "ndcg_cut_10"))
    assert recall_at(run, qrels, 10) == pytest.approx(mean(reference, "recall_10"))
    assert recall_at(run, qrels, 100) == pytest.approx(mean(reference, "recall_100"))
    assert mrr_at(run, qrels, 10) == pytest.approx(mean(reference_top10, "recip_rank"))
    assert 0 < mrr_at(run, qrels, 10) < 1
