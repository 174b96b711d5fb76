"""Reading a handbook-format question set (JSONL: turns, answers, all, source, kind) and
scoring the answers: a gold string counts when it is in the answer after SQuAD
normalisation; with `all`, every gold string must be; `source: null` marks a question the
documents cannot answer, which should be refused."""

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.evaluation.squad import contains_answer


@dataclass(frozen=True)
class HandbookItem:
    qid: str
    turns: tuple[str, ...]  # only the last one is scored
    answers: tuple[str, ...]
    every: bool  # "all": true, every answer must appear
    source: str | None  # the file holding the answer; None: not in the documents
    kind: str

    @property
    def answerable(self) -> bool:
        return self.source is not None


@dataclass(frozen=True)
class Outcome:
    """What the system did with one item's last turn."""

    item: HandbookItem
    answer: str  # citation markers removed
    refused: bool
    cited_sources: tuple[str, ...]  # file names of the cited documents
    first_token_ms: float | None
    search_query: str = ""  # what was searched for the last turn
    failed: bool = False  # the answer did not finish (the provider failed)

    @property
    def correct(self) -> bool:
        if self.failed:
            return False
        if not self.item.answerable:
            return self.refused
        return answer_matches(self.answer, self.item.answers, every=self.item.every)


def handbook_load(path: Path) -> list[HandbookItem]:
    items: list[HandbookItem] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        items.append(
            HandbookItem(
                qid=str(row.get("id", len(items) + 1)),
                turns=tuple(row["turns"]),
                answers=tuple(row.get("answers") or ()),
                every=bool(row.get("all", False)),
                source=row.get("source"),
                kind=str(row.get("kind", "")),
            )
        )
    return items


def answer_matches(answer: str, golds: Sequence[str], *, every: bool) -> bool:
    if not golds:
        return False
    if every:
        return all(contains_answer(answer, (gold,)) for gold in golds)
    return contains_answer(answer, tuple(golds))


def _share(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def handbook_metrics(outcomes: Sequence[Outcome]) -> dict[str, object]:
    answerable = [o for o in outcomes if o.item.answerable]
    unanswerable = [o for o in outcomes if not o.item.answerable]
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in answerable:
        by_kind[outcome.item.kind].append(outcome)
    # Length of what a reader reads: every answer given, refusals and failures aside.
    words = [len(o.answer.split()) for o in outcomes if not (o.refused or o.failed)]
    first_tokens = [o.first_token_ms for o in outcomes if o.first_token_ms is not None]
    p50_words, p90_words = _percentile(words, 0.5), _percentile(words, 0.9)
    p50_first = _percentile(first_tokens, 0.5)
    return {
        "answer_recall": _share(sum(o.correct for o in answerable), len(answerable)),
        "answer_recall_by_kind": {
            kind: _share(sum(o.correct for o in group), len(group))
            for kind, group in sorted(by_kind.items())
        },
        "source_hit": _share(
            sum(o.item.source in o.cited_sources for o in answerable), len(answerable)
        ),
        "false_refusals": _share(sum(o.refused for o in answerable), len(answerable)),
        "refusal_recall": _share(sum(o.refused for o in unanswerable), len(unanswerable)),
        "answer_words_p50": p50_words,
        "answer_words_p90": p90_words,
        "first_token_p50_ms": round(p50_first, 1) if p50_first is not None else None,
        "failed": sum(o.failed for o in outcomes),
        "answerable": len(answerable),
        "questions": len(outcomes),
    }
