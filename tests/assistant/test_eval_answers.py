"""`eval_answers` on a SQuAD-format file built here: every paragraph a document, every
question asked through the real answering path, metrics as the SQuAD script normalises."""

import io
import json

from django.core.management import call_command

from assistant.evaluation.squad import contains_answer, squad_normalize

SQUAD = {
    "version": "1.1",
    "data": [
        {
            "title": "Lighthouses",
            "paragraphs": [
                {
                    "context": "The Fastnet lighthouse stands on a rock off the coast of Ireland. "
                    "The Fastnet lighthouse was completed in 1904. "
                    "Its tower is built of Cornish granite.",
                    "qas": [
                        {
                            "id": "q1",
                            "question": "In which year was the Fastnet lighthouse completed?",
                            "answers": [{"text": "1904", "answer_start": 80}],
                        },
                        {
                            "id": "q2",
                            "question": "What stone is the Fastnet lighthouse built of?",
                            "answers": [{"text": "Cornish granite", "answer_start": 103}],
                        },
                    ],
                }
            ],
        },
        {
            "title": "Volcanoes",
            "paragraphs": [
                {
                    "context": "Mount Etna is an active volcano on the east coast of Sicily. "
                    "It is the tallest active volcano in Europe outside the Caucasus.",
                    "qas": [
                        {
                            "id": "q3",
                            "question": "On which island is Mount Etna?",
                            "answers": [{"text": "Sicily", "answer_start": 53}],
                        }
                    ],
                },
                {
                    "context": "Beekeepers harvest honey in late summer, when the hives are "
                    "full and the colonies are strongest.",
                    "qas": [
                        {
                            "id": "q4",
                            "question": "Who painted the Mona Lisa?",
                            "answers": [{"text": "Leonardo da Vinci", "answer_start": 0}],
                        }
                    ],
                },
            ],
        },
    ],
}


def test_eval_answers_prints_the_metrics_for_a_squad_file(
    tmp_path, django_db_setup, django_db_blocker
):
    path = tmp_path / "tiny-squad.json"
    path.write_text(json.dumps(SQUAD))
    out = io.StringIO()

    with django_db_blocker.unblock():
        call_command("eval_answers", squad=path, stdout=out, stderr=io.StringIO())

    result = json.loads(out.getvalue())
    assert result["questions"] == 4
    # Three answers are in the paragraphs and get found; the painter question is not
    # answerable from them and is refused.
    assert result["answer_recall"] == 0.75
    assert result["source_hit"] == 0.75
    assert result["refusals"] == 1
    assert 0 < result["citation_precision"] <= 1
    assert result["p50_ms"] > 0 and result["p95_ms"] >= result["p50_ms"]


def test_answers_are_compared_as_the_squad_script_normalises_them():
    assert squad_normalize("The  Cornish Granite!") == "cornish granite"
    assert contains_answer("It is built of cornish granite [1].", ("Cornish granite",))
    assert contains_answer("Completed in 1904.", ("1904",))
    assert not contains_answer("Completed in 19045.", ("1904",))
    assert not contains_answer("An answer about basalt.", ("Cornish granite",))
