"""The words that frame a question (how many, how long) are drawn from question-and-answer
pairs, not listed by hand: a word the questions use and their answers seldom hold frames;
a word the answers hold is what is asked about. Pairs written here (no evaluation set)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from assistant.evaluation.frame_fit import frame_lexemes_fit
from assistant.llm.frame import frame_lexemes

PAIRS = [
    ("How many desks does the Oslo office have?", "The Oslo office has 40 desks."),
    ("How many parking spaces are there at the depot?", "The depot has 12 parking spaces."),
    ("How long is the induction course?", "The induction course lasts three days."),
    ("How long do refunds take?", "Refunds are paid within 14 days."),
    ("How many people sit on the safety committee?", "The safety committee has five members."),
    ("When is the safety committee elected?", "The safety committee is elected each March."),
    ("Who chairs the safety committee in 2024?", "The safety committee is chaired by Ana Ruiz."),
]


@pytest.mark.django_db
def test_a_word_questions_ask_with_but_answers_lack_frames_and_one_they_hold_does_not():
    fit = frame_lexemes_fit(PAIRS, language="english", min_questions=2, max_share=0.2)

    assert "mani" in fit.lexemes  # "how many": no answer says "many"
    assert "long" in fit.lexemes
    assert "committe" not in fit.lexemes  # every answer about the committee names it
    assert fit.counted["committe"] == (3, 1.0)


@pytest.mark.django_db
def test_a_word_too_few_questions_use_is_not_judged():
    fit = frame_lexemes_fit(PAIRS, language="english", min_questions=3, max_share=0.2)

    assert fit.lexemes == ["mani"]  # three questions ask "how many", two "how long"


def test_a_language_the_fit_did_not_cover_has_no_framing_words():
    assert frame_lexemes("german") == frozenset()
    assert "mani" in frame_lexemes("english")


@pytest.mark.django_db
def test_the_command_writes_the_words_a_squad_format_file_gives(tmp_path):
    """`manage.py fit_frame_lexemes` reads SQuAD's format and writes the file the provider
    reads: a small file written here, of the shape SQuAD part 1 has."""
    paragraphs = []
    for office, desks in (("Oslo", 40), ("Bergen", 12), ("Tromso", 9)):
        context = f"The {office} office has {desks} desks. The {office} office opens at eight."
        start = context.index(str(desks))
        paragraphs.append(
            {
                "context": context,
                "qas": [
                    {
                        "id": office,
                        "question": f"How many desks does the {office} office have?",
                        "answers": [{"text": str(desks), "answer_start": start}],
                    }
                ],
            }
        )
    squad = tmp_path / "squad.json"
    squad.write_text(json.dumps({"data": [{"title": "Offices", "paragraphs": paragraphs}]}))
    out = tmp_path / "frame.json"

    call_command("fit_frame_lexemes", squad=squad, out=out, min_questions=3, stdout=StringIO())

    written = json.loads(out.read_text())
    assert written["english"] == ["mani"]
    assert written["min_questions"] == 3
