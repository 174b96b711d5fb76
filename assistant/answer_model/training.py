"""Fine-tuning the answer model on CPU with torch, exporting it to int8 ONNX, and choosing
the refusal threshold; `manage.py train_answer_model` runs it. torch is imported only here.

The run is deterministic for a seed on one machine (one thread pool, examples shuffled by
`random.Random(seed)`, torch seeded); figures on another CPU may differ in the last digits.
"""

import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer_model.examples import Example
from assistant.answer_model.inputs import MAX_TOKENS
from assistant.answer_model.scorer import (
    AnswerScorer,
    Calibration,
    tokenizer_load,
    unit_cosines,
)
from workspaces.embedding.export import bert_int8_export, bundled_model_dir


@dataclass(frozen=True)
class TrainingSettings:
    seed: int = 13
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 4e-5
    warmup_share: float = 0.1


def _batches(examples: Sequence[Example], size: int, rng: random.Random) -> list[list[Example]]:
    """Batches of similar length (little padding), in random order."""
    shuffled = list(examples)
    rng.shuffle(shuffled)
    window = size * 50
    batches: list[list[Example]] = []
    for start in range(0, len(shuffled), window):
        part = sorted(shuffled[start : start + window], key=lambda e: len(e.question + e.text))
        batches.extend(part[i : i + size] for i in range(0, len(part), size))
    rng.shuffle(batches)
    return batches


def _encoded(tokenizer: Any, batch: Sequence[Example]) -> dict[str, Any]:
    import torch

    encodings = tokenizer.encode_batch([(e.question, e.text) for e in batch])
    return {
        "input_ids": torch.tensor([e.ids for e in encodings]),
        "attention_mask": torch.tensor([e.attention_mask for e in encodings]),
        "token_type_ids": torch.tensor([e.type_ids for e in encodings]),
    }


def model_train(
    examples: Sequence[Example],
    *,
    options: TrainingSettings,
    progress: Callable[[str], None],
) -> Any:
    """A BertForSequenceClassification (one logit) fine-tuned from the bundled MiniLM."""
    import torch
    from transformers import BertForSequenceClassification

    torch.manual_seed(options.seed)
    rng = random.Random(options.seed)  # noqa: S311 (a seeded order, not a secret)
    model = BertForSequenceClassification.from_pretrained(
        str(bundled_model_dir()), num_labels=1, attn_implementation="eager"
    )
    tokenizer = tokenizer_load()
    weighted = list(examples)
    steps = options.epochs * math.ceil(len(weighted) / options.batch_size)
    warmup = max(1, int(options.warmup_share * steps))
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.learning_rate, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / max(1, steps - warmup))),
    )
    loss_of = torch.nn.BCEWithLogitsLoss()
    model.train(True)
    step, started, running = 0, time.perf_counter(), 0.0
    for epoch in range(options.epochs):
        for batch in _batches(weighted, options.batch_size, rng):
            inputs = _encoded(tokenizer, batch)
            labels = torch.tensor([float(e.label) for e in batch])
            loss = loss_of(model(**inputs).logits.squeeze(-1), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            value = loss.item()
            running = 0.98 * running + 0.02 * value if step > 1 else value
            if step % 100 == 0 or step == steps:
                elapsed = time.perf_counter() - started
                progress(
                    f"epoch {epoch + 1} step {step}/{steps} loss {running:.4f} "
                    f"({elapsed:.0f} s, about {elapsed / step * (steps - step):.0f} s to go)"
                )
    model.train(False)
    return model


def model_export(model: Any, target: Path) -> None:
    bert_int8_export(
        model,
        target=target,
        output="logits",
        output_name="logit",
        output_axes={0: "batch"},
        quantize_embeddings=True,
    )


@dataclass(frozen=True)
class GroupScores:
    """One question against one set of units: the best probability among them, whether any
    answers it, and whether the best-scored unit is one that does."""

    source: str
    best: float
    answerable: bool
    top_is_answer: bool


def group_scores(examples: Sequence[Example], probabilities: np.ndarray) -> list[GroupScores]:
    groups: dict[str, list[tuple[Example, float]]] = defaultdict(list)
    for example, probability in zip(examples, probabilities, strict=True):
        groups[example.group].append((example, float(probability)))
    scores = []
    for members in groups.values():
        top = max(members, key=lambda pair: pair[1])
        scores.append(
            GroupScores(
                source=members[0][0].source,
                best=top[1],
                answerable=any(e.label for e, _ in members),
                top_is_answer=bool(top[0].label),
            )
        )
    return scores


def _balanced_accuracy(groups: Sequence[GroupScores], threshold: float) -> float:
    answerable = [g for g in groups if g.answerable]
    unanswerable = [g for g in groups if not g.answerable]
    kept = sum(g.best >= threshold for g in answerable) / max(1, len(answerable))
    refused = sum(g.best < threshold for g in unanswerable) / max(1, len(unanswerable))
    return (kept + refused) / 2


def threshold_choose(groups_by_set: dict[str, list[GroupScores]]) -> float:
    """The probability below which the provider refuses: the one that best tells questions
    with an answer among their units from questions without one (balanced accuracy),
    averaged over the sets so that the small one counts as much as the large one."""
    grid = np.round(np.arange(0.02, 0.99, 0.01), 2)
    means = [
        float(np.mean([_balanced_accuracy(groups, t) for groups in groups_by_set.values()]))
        for t in grid
    ]
    return float(grid[int(np.argmax(means))])


def metrics(groups: Sequence[GroupScores], threshold: float) -> dict[str, float | int]:
    answerable = [g for g in groups if g.answerable]
    unanswerable = [g for g in groups if not g.answerable]
    return {
        "questions": len(answerable),
        "top_unit_answers": round(
            sum(g.top_is_answer for g in answerable) / max(1, len(answerable)), 4
        ),
        "answered_at_threshold": round(
            sum(g.best >= threshold for g in answerable) / max(1, len(answerable)), 4
        ),
        "unanswerable_groups": len(unanswerable),
        "refused_at_threshold": round(
            sum(g.best < threshold for g in unanswerable) / max(1, len(unanswerable)), 4
        ),
    }


def tokens_fit_share(examples: Sequence[Example]) -> float:
    """Share of (question, unit) pairs that fit in MAX_TOKENS untruncated."""
    tokenizer = tokenizer_load(truncate=False)
    encodings = tokenizer.encode_batch([(e.question, e.text) for e in examples])
    # Padding makes every encoding as long as the longest: count the real tokens.
    fits = sum(sum(e.attention_mask) <= MAX_TOKENS for e in encodings)
    return fits / max(1, len(encodings))


# Units per question the calibration looks at again (the cross-encoder's best): the
# retrieval model's cosine costs an embedding per unit, 8 of them about 30 ms.
SHORTLIST = 8


def calibration_fit(
    scorer: AnswerScorer, groups_by_set: dict[str, list[Example]]
) -> tuple[Calibration, dict[str, np.ndarray]]:
    """A logistic regression over the cross-encoder's logit and the retrieval model's cosine
    of each group's SHORTLIST best units, each set weighing as much as the other; and every
    example's calibrated probability (0 outside its group's shortlist)."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    features: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for name, examples in groups_by_set.items():
        logits = scorer.pair_logits([(e.question, e.text) for e in examples])
        cosines = np.full(len(examples), np.nan)
        members: dict[str, list[int]] = defaultdict(list)
        for index, example in enumerate(examples):
            members[example.group].append(index)
        for indices in members.values():
            best = sorted(indices, key=lambda i: -logits[i])[:SHORTLIST]
            question = examples[best[0]].question
            cosines[best] = unit_cosines(question, [examples[i].text for i in best])
        labels = np.array([e.label for e in examples])
        features[name] = (logits, cosines, labels)
    rows, targets, weights = [], [], []
    for logits, cosines, labels in features.values():
        kept = ~np.isnan(cosines)
        rows.append(np.column_stack([logits[kept], cosines[kept]]))
        targets.append(labels[kept])
        weights.append(np.full(int(kept.sum()), 1.0 / max(1, int(kept.sum()))))
    # Weights summing to the number of rows, so that the regularisation weighs as usual.
    total = sum(len(w) for w in weights)
    weights = [w * total / len(weights) for w in weights]
    model = LogisticRegression().fit(
        np.vstack(rows), np.concatenate(targets), sample_weight=np.concatenate(weights)
    )
    calibrated = Calibration(
        intercept=float(model.intercept_[0]),
        logit_weight=float(model.coef_[0][0]),
        cosine_weight=float(model.coef_[0][1]),
        shortlist=SHORTLIST,
    )
    probabilities = {}
    for name, (logits, cosines, _) in features.items():
        kept = ~np.isnan(cosines)
        found = np.zeros(len(logits))
        found[kept] = calibrated.probability(logits[kept], cosines[kept])
        probabilities[name] = found
    return calibrated, probabilities
