"""The answer path run outside a long-lived server (here `eval_answers`, as production's
pool runs it: not in the caller's thread) leaves no database connection behind: the threads
its steps run on end with each answer, and each closes its connection first."""

import io
import json
from typing import Any

from django.core.management import call_command
from django.db import connection

QUESTIONS = 200
PARAGRAPHS = [
    ("Lighthouses", "The Fastnet lighthouse was completed in 1904 on a rock off Ireland."),
    ("Volcanoes", "Mount Etna is an active volcano on the east coast of Sicily."),
    ("Bees", "Beekeepers harvest honey in late summer, when the hives are full."),
    ("Rivers", "The Danube flows through ten countries before it reaches the Black Sea."),
]
ASKED = [
    "In which year was the Fastnet lighthouse completed?",
    "On which island is Mount Etna?",
    "When do beekeepers harvest honey?",
    "Where does the Danube end?",
]


def _squad(questions: int) -> dict[str, Any]:
    paragraphs = [
        {"context": f"{context}", "qas": [
            {"id": f"q{n}", "question": ASKED[n % len(ASKED)], "answers": [
                {"text": "x", "answer_start": 0}]}
            for n in range(questions) if n % len(PARAGRAPHS) == index
        ]}
        for index, (_, context) in enumerate(PARAGRAPHS)
    ]  # fmt: skip
    return {"version": "1.1", "data": [{"title": "Facts", "paragraphs": paragraphs}]}


def _backends() -> int:
    """Connections open to the test database (this one included)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def test_answering_200_questions_from_a_command_leaves_no_connection_open(
    tmp_path: Any, django_db_setup: None, django_db_blocker: Any, settings: Any
):
    settings.ASYNC_DATABASE_IN_CALLERS_THREAD = False  # production's pool of threads
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(_squad(QUESTIONS)))
    out = io.StringIO()

    with django_db_blocker.unblock():
        before = _backends()
        call_command("eval_answers", squad=path, stdout=out, stderr=io.StringIO())
        after = _backends()

    assert json.loads(out.getvalue())["questions"] == QUESTIONS
    # Retrieval's vector legs run on a pool of their own, kept for the process's life: at
    # most that many connections stay, however many questions were answered.
    assert after <= before + settings.RETRIEVAL_VECTOR_LEG_THREADS
