import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assistant.evaluation.answer_step import handbook_steps, squad_steps, step_metrics
from assistant.evaluation.squad import articles_slice


class Command(BaseCommand):
    help = (
        "Show where the extractive answer step loses answers on a handbook-format set (--docs "
        "with --questions) or SQuAD-format file (--squad, each question also asked with its "
        "own paragraph set aside): gold passage retrieved, gold unit weighed and its rank, "
        "questions refused by each of the rules scorer's two gates, and how well its signals "
        "tell answerable from unanswerable questions."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--squad", type=Path, help="SQuAD-format JSON file")
        parser.add_argument("--articles", type=articles_slice, default=slice(None))
        parser.add_argument("--max-questions", type=int, default=0)
        parser.add_argument("--docs", type=Path, help="folder of documents to upload")
        parser.add_argument("--questions", type=Path, help="JSONL questions about --docs")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["squad"] and not (options["docs"] or options["questions"]):
            steps = list(
                squad_steps(
                    options["squad"],
                    articles=options["articles"],
                    max_questions=options["max_questions"],
                )
            )
        elif options["docs"] and options["questions"] and not options["squad"]:
            steps = handbook_steps(options["docs"], options["questions"])
        else:
            raise CommandError("Give either --squad FILE, or --docs DIR with --questions FILE.")
        self.stdout.write(json.dumps(step_metrics(steps)))
