"""`eval_answers` on a SQuAD-format file built here: every paragraph a document, every
question asked through the real answering path, metrics as the SQuAD script normalises."""

import io
import json

import numpy as np
from django.core.management import call_command

from assistant.evaluation.handbook import HandbookItem, Outcome, answer_matches, handbook_metrics
from assistant.evaluation.squad import contains_answer, squad_normalize
from assistant.evaluation.weights_fit import threshold_choose
from assistant.llm.rules_plan import rules_weights

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


# Wrapped prose, and a pipe table.
POLICY = """# Travel policy

Staff who travel for work book trains and flights through the travel desk.
Economy class is the rule for flights under six
hours; business class needs a director's approval.

## Hotel limits

| City | Nightly hotel limit |
|------|---------------------|
| Oslo | NOK 1900 |
| Rome | EUR 170 |
"""

FAQ = """Q: How long must a password be?
A: Passwords must be at least 14 characters long.

Q: Who resets a forgotten password?
A: The service desk resets it after checking your identity.
"""

ITEMS = [
    {
        "id": "t1",
        "turns": ["Which class do I fly on a short trip?"],
        "answers": ["economy"],
        "source": "travel-policy.md",
        "kind": "fact",
    },
    {
        "id": "t2",
        "turns": ["What is the nightly hotel limit in Oslo?", "and in Rome?"],
        "answers": ["EUR 170"],
        "source": "travel-policy.md",
        "kind": "followup",
    },
    {
        "id": "t3",
        "turns": ["How long must a password be?"],
        "answers": ["14 characters"],
        "source": "it-faq.txt",
        "kind": "fact",
    },
    {
        "id": "t4",
        "turns": ["Which volcano erupted in 1815?"],
        "answers": [],
        "source": None,
        "kind": "unanswerable",
    },
]


def test_eval_answers_scores_a_folder_of_documents_and_a_question_file(
    tmp_path, django_db_setup, django_db_blocker
):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "travel-policy.md").write_text(POLICY)
    (docs / "it-faq.txt").write_text(FAQ)
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(item) + "\n" for item in ITEMS))
    per_item = tmp_path / "out.jsonl"
    out = io.StringIO()

    with django_db_blocker.unblock():
        call_command(
            "eval_answers",
            docs=docs,
            questions=questions,
            out=per_item,
            stdout=out,
            stderr=io.StringIO(),
        )

    result = json.loads(out.getvalue())
    assert result["questions"] == 4
    assert result["answerable"] == 3
    assert set(result["answer_recall_by_kind"]) == {"fact", "followup"}
    assert result["refusal_recall"] == 1.0
    assert 0 <= result["false_refusals"] <= 1
    assert result["answer_words_p90"] >= result["answer_words_p50"] > 0
    assert result["first_token_p50_ms"] > 0
    rows = [json.loads(line) for line in per_item.read_text().splitlines()]
    assert [row["id"] for row in rows] == ["t1", "t2", "t3", "t4"]
    assert rows[1]["question"] == "and in Rome?"
    # The follow-up is searched as a standalone question, and answered with the Rome row.
    assert rows[1]["searched"] == "What is the nightly hotel limit in Rome?"
    assert "EUR 170" in rows[1]["answer"] and "NOK" not in rows[1]["answer"]
    assert "14 characters" in rows[2]["answer"] and "A:" not in rows[2]["answer"]
    assert rows[3]["refused"] and rows[3]["correct"] and rows[3]["citations"] == []
    assert set(rows[0]) >= {"question", "answer", "citations", "correct"}


def test_with_all_every_gold_string_must_be_in_the_answer():
    assert answer_matches("Public, Internal and Restricted", ("public", "restricted"), every=True)
    assert not answer_matches("Public and Internal", ("public", "restricted"), every=True)
    assert answer_matches("Only Internal", ("public", "internal"), every=False)
    assert not answer_matches("Anything", (), every=False)


def test_an_answer_that_failed_counts_as_failed_not_as_an_answer():
    asked = HandbookItem(
        "q1", ("How long is parental leave?",), ("26 weeks",), False, "a.md", "fact"
    )
    absent = HandbookItem("q2", ("Is there a gym?",), (), False, None, "unanswerable")
    outcomes = [
        Outcome(asked, "Parental leave is 26 weeks.", False, ("a.md",), 100.0),
        # The provider failed before a word: no text, not refused, no citation.
        Outcome(asked, "", False, (), None, failed=True),
        Outcome(absent, "", False, (), None, failed=True),
    ]

    result = handbook_metrics(outcomes)

    assert result["failed"] == 2
    assert result["answer_recall"] == 0.5
    assert result["refusal_recall"] == 0.0
    assert result["answer_words_p50"] == 5


def test_eval_answer_step_shows_where_each_step_keeps_or_loses_the_answer(
    tmp_path, django_db_setup, django_db_blocker
):
    path = tmp_path / "tiny-squad.json"
    path.write_text(json.dumps(SQUAD))
    out = io.StringIO()

    with django_db_blocker.unblock():
        call_command("eval_answer_step", squad=path, stdout=out, stderr=io.StringIO())

    result = json.loads(out.getvalue())
    # Each question is asked as it is (SQuAD says each has its answer in its paragraph) and
    # with its own paragraph set aside (then nothing holds an answer): 8 in all. Three find
    # their paragraph and rank the answering sentence among the first three; the painter
    # question's paragraph, about honey, does not hold its answer.
    assert result["questions"] == 8
    assert result["answerable"] == 4
    assert result["gold_passage_retrieved"] == 0.75
    assert result["gold_unit_top3"] == 0.75
    assert result["gold_unit_first"] <= result["gold_unit_top3"]
    assert result["refused_by_relevance"] <= 0.25
    assert 0.5 < result["relevance_auc"] <= 1.0


def test_fit_rules_weights_draws_the_scorer_weights_from_data_and_the_scorer_reads_them(
    tmp_path, django_db_setup, django_db_blocker, settings
):
    squad = tmp_path / "tiny-squad.json"
    squad.write_text(json.dumps(SQUAD))
    handbook = tmp_path / "handbook"
    (handbook / "docs").mkdir(parents=True)
    (handbook / "docs" / "travel-policy.md").write_text(POLICY)
    (handbook / "docs" / "it-faq.txt").write_text(FAQ)
    (handbook / "questions.jsonl").write_text("".join(json.dumps(i) + "\n" for i in ITEMS))
    weights = tmp_path / "weights.json"

    with django_db_blocker.unblock():
        call_command(
            "fit_rules_weights",
            squad=squad,
            handbook=handbook,
            out=weights,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )

    fitted = json.loads(weights.read_text())
    assert fitted["unit_features"][0] == "similarity" and len(fitted["unit"]) == 5
    assert fitted["passage_features"] == ["passage_similarity", "passage_coverage"]
    # A passage more like the question, holding more of its words, is more likely to answer.
    assert all(weight > 0 for weight in fitted["passage"])
    # The threshold refuses no more than 5 % of either set's answerable questions: with so
    # few, none; and the best unit of a question whose answer is weighed is the answer.
    for name in ("squad_0_19", "handbook_a"):
        assert fitted["fitted"][name]["false_refusals"] == 0.0
        assert fitted["fitted"][name]["gold_unit_first"] > 0.5

    settings.ASSISTANT_EXTRACTIVE_WEIGHTS = str(weights)
    settings.ASSISTANT_EXTRACTIVE_MIN_SCORE = None
    read = rules_weights()
    assert read.logistic and read.min_relevance == fitted["min_relevance"]
    # Read as probabilities: a unit's score and a passage's relevance fall between 0 and 1.
    assert 0 < read.relevance(np.array([[0.9, 1.0]]))[0] < 1
    settings.ASSISTANT_EXTRACTIVE_WEIGHTS = ""
    assert not rules_weights().logistic


def test_the_fitted_threshold_is_the_highest_that_keeps_false_refusals_within_five_percent():
    # 40 answerable questions with relevances 0.30 .. 0.69 and unanswerable ones lower.
    answerable = [(0.30 + i / 100, True) for i in range(40)]
    unanswerable = [(0.05 + i / 100, False) for i in range(20)]

    threshold = threshold_choose({"a": answerable + unanswerable, "b": answerable})

    refused = sum(r < threshold for r, _ in answerable)
    assert refused / len(answerable) <= 0.05
    assert sum(r < threshold + 0.01 for r, _ in answerable) / len(answerable) > 0.05
