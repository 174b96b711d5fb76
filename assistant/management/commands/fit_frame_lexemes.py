import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from assistant.answer_model.examples import squad_answer_units
from assistant.evaluation.frame_fit import MAX_SHARE, MIN_QUESTIONS, frame_lexemes_fit
from assistant.evaluation.squad import TRAIN_ARTICLES
from assistant.llm.frame import FRAME_FILE

SQUAD = Path("../shared/eval/squad/dev-v1.1-part1.json")


class Command(BaseCommand):
    help = (
        "Draw the words that frame a question (how far, how many, what kind) from SQuAD "
        "part 1's training articles (0-19) and write them where the extractive provider "
        "reads them (assistant/llm/frame_lexemes.json)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--squad", type=Path, default=SQUAD)
        parser.add_argument("--min-questions", type=int, default=MIN_QUESTIONS)
        parser.add_argument("--max-share", type=float, default=MAX_SHARE)
        parser.add_argument("--out", type=Path, default=FRAME_FILE)

    def handle(self, *args: Any, **options: Any) -> None:
        pairs = squad_answer_units(options["squad"], articles=TRAIN_ARTICLES)
        fit = frame_lexemes_fit(
            pairs,
            language="english",
            min_questions=options["min_questions"],
            max_share=options["max_share"],
        )
        report = {
            "command": "manage.py fit_frame_lexemes",
            "data": f"{options['squad'].name} articles 0-19: {len(pairs)} questions, each "
            "with the unit holding its answer",
            "min_questions": options["min_questions"],
            "max_share": options["max_share"],
            "english": fit.lexemes,
        }
        options["out"].write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        self.stdout.write(
            f"{len(fit.lexemes)} framing words of {len(fit.counted)} counted -> {options['out']}"
        )
