"""The rules scorer's weights drawn from data (`manage.py fit_rules_weights`): a logistic
regression over each weighed unit's features (does it hold a gold answer?), another over each
passage's (does it hold one?), and the refusal threshold on the best passage's probability.

The data is what issue 23 allows to train on: SQuAD v1.1 dev part 1's first 20 articles (each
question asked as it is, and again with its own paragraph set aside, so that the same
article's other paragraphs are all that is found: mostly a question to decline) and handbook
set A. Each set weighs as much as the other, and within a set each question as much as the
next. Handbook set C and the hidden sets are never read here: they check what this fitted.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.evaluation.answer_step import Step, auc
from assistant.llm.rules_plan import PASSAGE_FEATURES, UNIT_FEATURES

# The most answerable questions a chosen threshold may refuse, per set: the goal's
# false_refusals <= 0.05 (issue 23), so that refusing stays the exception for a question the
# documents answer; the threshold is the highest that keeps every fitting set within it.
MAX_FALSE_REFUSALS = 0.05


@dataclass(frozen=True)
class Fitted:
    unit: tuple[float, ...]
    unit_intercept: float
    passage: tuple[float, ...]
    passage_intercept: float
    min_relevance: float


def _weighted(
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, labels and weights: each set sums to the same weight, each group within it too;
    scaled so the weights sum to the number of rows (the regularisation weighs as usual)."""
    rows, labels, weights = [], [], []
    for groups in parts.values():
        groups = [(x, y) for x, y in groups if len(y)]
        for x, y in groups:
            rows.append(x)
            labels.append(y)
            weights.append(np.full(len(y), 1.0 / (len(y) * len(groups))))
    weight = np.concatenate(weights)
    weight *= len(weight) / weight.sum()
    return np.vstack(rows), np.concatenate(labels), weight


def _logistic(
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]],
) -> tuple[tuple[float, ...], float]:
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    x, y, weight = _weighted(parts)
    model = LogisticRegression().fit(x, y, sample_weight=weight)
    return tuple(round(float(w), 4) for w in model.coef_[0]), round(float(model.intercept_[0]), 4)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-z)))


def best_relevance(step: Step, weights: Sequence[float], intercept: float) -> float:
    if not len(step.passage_x):
        return 0.0
    return float(_sigmoid(step.passage_x @ np.asarray(weights) + intercept).max())


def threshold_choose(relevances: dict[str, list[tuple[float, bool]]]) -> float:
    """The highest threshold that refuses at most MAX_FALSE_REFUSALS of each set's
    answerable questions."""
    grid = np.round(np.arange(0.0, 1.0, 0.005), 3)
    allowed = [
        t
        for t in grid
        if all(
            np.mean([r < t for r, answerable in pairs if answerable]) <= MAX_FALSE_REFUSALS
            for pairs in relevances.values()
        )
    ]
    return float(max(allowed))


def weights_fit(
    steps_by_set: dict[str, list[Step]],
) -> tuple[Fitted, dict[str, dict[str, float | None]]]:
    """The fitted weights and, per set, what they do on it."""
    unit_parts = {
        name: [(s.unit_x, s.unit_y) for s in steps if s.answerable and s.unit_y.any()]
        for name, steps in steps_by_set.items()
    }
    passage_parts = {
        name: [(s.passage_x, s.passage_y) for s in steps] for name, steps in steps_by_set.items()
    }
    unit, unit_intercept = _logistic(unit_parts)
    passage, passage_intercept = _logistic(passage_parts)
    relevances = {
        name: [(best_relevance(s, passage, passage_intercept), s.answerable) for s in steps]
        for name, steps in steps_by_set.items()
    }
    threshold = threshold_choose(relevances)
    fitted = Fitted(unit, unit_intercept, passage, passage_intercept, threshold)
    return fitted, {name: fit_metrics(steps, fitted) for name, steps in steps_by_set.items()}


def fit_metrics(steps: Sequence[Step], fitted: Fitted) -> dict[str, float | None]:
    """Of a set's questions under the fitted weights: the gold unit ranked first (of those
    where it is weighed), answerable ones refused, unanswerable ones refused, and how well
    the best relevance tells them apart."""
    firsts = [
        bool(s.unit_y[int(np.argmax(s.unit_x @ np.asarray(fitted.unit)))])
        for s in steps
        if s.answerable and s.unit_y.any()
    ]
    pairs = [
        (best_relevance(s, fitted.passage, fitted.passage_intercept), s.answerable) for s in steps
    ]
    answerable = [r for r, a in pairs if a]
    unanswerable = [r for r, a in pairs if not a]
    return {
        "questions": len(steps),
        "gold_unit_first": round(float(np.mean(firsts)), 4) if firsts else float("nan"),
        "false_refusals": round(float(np.mean([r < fitted.min_relevance for r in answerable])), 4),
        "refusal_recall": round(float(np.mean([r < fitted.min_relevance for r in unanswerable])), 4)
        if unanswerable
        else float("nan"),
        "relevance_auc": auc(answerable, unanswerable),
    }


def hand_metrics(steps: Sequence[Step]) -> dict[str, float | None]:
    """The same figures for the hand-set weights the steps were read with."""
    answerable = [s for s in steps if s.answerable]
    unanswerable = [s for s in steps if not s.answerable]
    weighed = [s for s in answerable if s.unit_rank is not None]
    return {
        "gold_unit_first": round(float(np.mean([s.unit_rank == 1 for s in weighed])), 4),
        "false_refusals": round(float(np.mean([s.below_relevance for s in answerable])), 4),
        "refusal_recall": round(float(np.mean([s.below_relevance for s in unanswerable])), 4)
        if unanswerable
        else float("nan"),
        "relevance_auc": auc(
            [s.relevance for s in answerable], [s.relevance for s in unanswerable]
        ),
    }


def weights_write(path: Path, fitted: Fitted, report: dict[str, object]) -> None:
    import json

    path.write_text(
        json.dumps(
            {
                "unit_features": list(UNIT_FEATURES),
                "unit": list(fitted.unit),
                "unit_intercept": fitted.unit_intercept,
                "passage_features": list(PASSAGE_FEATURES),
                "passage": list(fitted.passage),
                "passage_intercept": fitted.passage_intercept,
                "min_relevance": fitted.min_relevance,
                **report,
            },
            indent=2,
        )
        + "\n"
    )
