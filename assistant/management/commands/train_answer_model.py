import dataclasses
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from assistant.answer_model.examples import (
    Example,
    handbook_threshold_groups,
    squad_examples,
    squad_threshold_groups,
)
from assistant.answer_model.inputs import MAX_TOKENS
from assistant.answer_model.scorer import ARTEFACT_DIR, AnswerScorer
from assistant.answer_model.training import (
    GroupScores,
    TrainingSettings,
    calibration_fit,
    group_scores,
    metrics,
    model_export,
    model_train,
    threshold_choose,
    tokens_fit_share,
)
from assistant.evaluation.squad import TRAIN_ARTICLES, VALIDATION_ARTICLES
from workspaces.embedding.model import embeddings_default

EVAL = Path(__file__).resolve().parents[3].parent / "shared" / "eval"
# Part of the model's id: a change to the data, the inputs or the training gets a new one.
RECIPE = "minilm-l6-crossencoder-squad20-v2"


class Command(BaseCommand):
    help = (
        "Train the extractive provider's answer model on SQuAD part 1's first 20 articles and "
        "handbook set A, export it to int8 ONNX, choose the refusal threshold on SQuAD's "
        "validation articles and set A, and write the model and its card."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--squad", type=Path, default=EVAL / "squad" / "dev-v1.1-part1.json")
        parser.add_argument("--handbook", type=Path, default=EVAL / "handbook")
        parser.add_argument("--out", type=Path, default=ARTEFACT_DIR)
        parser.add_argument("--seed", type=int, default=TrainingSettings.seed)
        parser.add_argument("--epochs", type=int, default=TrainingSettings.epochs)
        parser.add_argument(
            "--limit", type=int, default=0, help="train on this many examples only (a smoke run)"
        )
        parser.add_argument(
            "--threshold-only",
            action="store_true",
            help="keep the model in --out and choose its refusal threshold again",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        embeddings = embeddings_default()
        seed = options["seed"]
        out: Path = options["out"]
        model_file = out / "answer-model-int8.onnx"
        card_file = out / "answer-model.json"
        docs, questions = options["handbook"] / "docs", options["handbook"] / "questions.jsonl"
        validation = squad_examples(
            options["squad"], articles=VALIDATION_ARTICLES, embeddings=embeddings, seed=seed
        )
        if options["threshold_only"]:
            card = json.loads(card_file.read_text(encoding="utf-8"))
        else:
            card = self._train(options, embeddings, docs, questions, validation)
            model_export(card.pop("model"), model_file)
            card["training_seconds"] = round(time.perf_counter() - started)
        scorer = AnswerScorer(model_file, threads=0)
        # The threshold is chosen on as many units as an answer reads (six passages'), in
        # SQuAD's validation articles and set A.
        groups = {
            "squad_validation": squad_threshold_groups(
                options["squad"], articles=VALIDATION_ARTICLES, embeddings=embeddings
            ),
            "handbook_a": handbook_threshold_groups(docs, questions, embeddings=embeddings),
        }
        calibrated, probabilities = calibration_fit(scorer, groups)
        scored = {
            name: group_scores(examples, probabilities[name]) for name, examples in groups.items()
        }
        threshold = threshold_choose(scored)
        card["calibration"] = dataclasses.asdict(calibrated)
        card["threshold"] = threshold
        card["metrics"] = {name: metrics(found, threshold) for name, found in scored.items()}
        # Which unit of its own paragraph the cross-encoder alone puts first.
        card["metrics"]["squad_validation_own_paragraph"] = metrics(
            _scored(scorer, validation), 0.5
        )
        card["size_bytes"] = model_file.stat().st_size
        card_file.write_text(json.dumps(card, indent=2) + "\n")
        self.stdout.write(json.dumps(card))

    def _train(
        self,
        options: dict[str, Any],
        embeddings: Any,
        docs: Path,
        questions: Path,
        validation: list[Example],
    ) -> dict[str, Any]:
        seed = options["seed"]
        train = squad_examples(
            options["squad"], articles=TRAIN_ARTICLES, embeddings=embeddings, seed=seed
        )
        training = train
        if options["limit"]:
            training = training[: options["limit"]]
        self.stdout.write(
            f"{len(train)} SQuAD pairs to train on, {len(validation)} SQuAD validation pairs; "
            f"{tokens_fit_share(training):.3f} of the training pairs "
            f"fit in {MAX_TOKENS} tokens"
        )
        settings = TrainingSettings(seed=seed, epochs=options["epochs"])
        model = model_train(training, options=settings, progress=self.stdout.write)
        return {
            "model": model,
            "recipe": RECIPE,
            "seed": seed,
            "epochs": settings.epochs,
            "batch_size": settings.batch_size,
            "learning_rate": settings.learning_rate,
            "max_tokens": MAX_TOKENS,
            "training_pairs": {"squad": len(train)},
            "validation_pairs": len(validation),
            "machine": f"{platform.processor() or platform.machine()}, {_cores()} cores",
        }


def _scored(scorer: AnswerScorer, examples: list[Example]) -> list[GroupScores]:
    pairs = [(e.question, e.text) for e in examples]
    return group_scores(examples, scorer.pair_probabilities(pairs))


def _cores() -> int:
    return len(os.sched_getaffinity(0))
