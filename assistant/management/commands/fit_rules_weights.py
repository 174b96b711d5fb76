import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from assistant.evaluation.answer_step import handbook_steps, squad_steps
from assistant.evaluation.weights_fit import hand_metrics, weights_fit, weights_write

SQUAD = Path("../shared/eval/squad/dev-v1.1-part1.json")
HANDBOOK = Path("../shared/eval/handbook")


class Command(BaseCommand):
    help = (
        "Fit the extractive rules scorer's weights and refusal threshold on SQuAD part 1's "
        "training articles (0-19) and handbook set A, and write them to --out, a file "
        "ASSISTANT_EXTRACTIVE_WEIGHTS can name."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--squad", type=Path, default=SQUAD)
        parser.add_argument("--handbook", type=Path, default=HANDBOOK)
        parser.add_argument(
            "--max-questions", type=int, default=600, help="SQuAD questions (each asked twice)"
        )
        parser.add_argument("--out", type=Path, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        steps = {
            "squad_0_19": list(
                squad_steps(
                    options["squad"], articles=slice(0, 20), max_questions=options["max_questions"]
                )
            ),
            "handbook_a": handbook_steps(
                options["handbook"] / "docs", options["handbook"] / "questions.jsonl"
            ),
        }
        fitted, fitted_metrics = weights_fit(steps)
        report = {
            "data": (
                f"{options['squad'].name} articles 0-19 ({options['max_questions']} questions, "
                "each also asked with its paragraph set aside) and handbook set A; each set "
                "weighs the same"
            ),
            "command": "manage.py fit_rules_weights",
            "fitted": fitted_metrics,
            "hand_set": {name: hand_metrics(s) for name, s in steps.items()},
            "seconds": round(time.monotonic() - started),
        }
        weights_write(options["out"], fitted, report)
        self.stdout.write(json.dumps({"out": str(options["out"]), **report}, indent=2))
