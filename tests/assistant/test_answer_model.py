"""The answer model at work in the extractive provider, on small documents written here
(no evaluation set): it answers from the unit that says it, refuses what nothing says,
tells a question in another language apart from one the documents do not answer, gives
both figures when two versions of a document disagree, and summarises a document it is
asked to. Also: the local rerank provider puts the passage that answers first."""

from typing import Any

import pytest

from accounts.models import User
from assistant.answer_model.inputs import unit_input
from assistant.answer_model.rerank import chunks_rerank_local
from assistant.answer_model.scorer import answer_probabilities, refusal_threshold
from assistant.llm import NOT_FOUND, Passage, Prepared
from assistant.llm.extractive import DIFFER, ExtractiveProvider, Plan
from assistant.llm.passage_units import Unit
from tests.assistant.conftest import documents_ingested
from workspaces.models import Workspace
from workspaces.search.retrieval import chunks_retrieve

SAFETY = b"""# Warehouse safety manual

## Protective equipment

Safety boots with steel toe caps must be worn on the warehouse floor at all times.
High-visibility vests are issued on the first day and replaced free of charge when worn.

## Forklifts

Only staff holding a valid forklift licence may drive a forklift. The speed limit inside
the building is 8 km/h.

## Fire

The assembly point is the north car park. Fire drills take place every six months.
"""

PASSWORDS_2023 = b"""IT FAQ (2023 edition)

Q: What is the minimum password length?
A: Passwords must be at least 14 characters long.

Q: How often must I change my password?
A: Only when you suspect it has been exposed.
"""

PASSWORDS_2025 = b"""IT FAQ (2025 edition)

Q: What is the minimum password length?
A: Passwords must be at least 16 characters long.

Q: Who do I call about a lost laptop?
A: Call the service desk on extension 4000.
"""


def prepared(owner: User, workspace: Workspace, question: str) -> Prepared:
    chunks = chunks_retrieve(user=owner, query=question, within=[workspace.pk], k=6)
    passages = [Passage(number, chunk) for number, chunk in enumerate(chunks, start=1)]
    return ExtractiveProvider().prepare(
        question=question, passages=passages, history=(), language="english",
        workspace_ids=[workspace.pk],
    )  # fmt: skip


def plan(owner: User, workspace: Workspace, question: str) -> Plan:
    made = prepared(owner, workspace, question).plan
    assert isinstance(made, Plan)
    return made


def cited_passages_hold_their_quotes(made: Prepared) -> bool:
    """Every part's marker names exactly one passage, and that passage holds what it says."""
    assert isinstance(made.plan, Plan)
    numbers = [p.number for p in made.passages]
    by_number = {p.number: p for p in made.passages}
    return len(numbers) == len(set(numbers)) and all(
        " ".join(quote.split()) in " ".join(by_number[part.passage].chunk.text.split())
        for part in made.plan.parts
        for quote in part.quotes
    )


def said(planned: Plan) -> str:
    return "\n".join(part.text for part in planned.parts)


def test_the_model_scores_the_sentence_that_answers_above_the_others():
    units = [
        ("Forklifts", "The speed limit inside the building is 8 km/h."),
        ("Fire", "The assembly point is the north car park."),
        ("Protective equipment", "High-visibility vests are issued on the first day."),
    ]
    probabilities = answer_probabilities(
        "How fast may forklifts go inside the building?",
        [
            unit_input(Unit(1, 0, "sentence", text), heading_path=f"Safety › {heading}")
            for heading, text in units
        ],
    )

    assert probabilities[0] >= refusal_threshold()
    assert probabilities[0] > max(probabilities[1:])


def test_the_model_scorer_answers_a_paraphrase_with_the_sentence_that_says_it(
    owner_a: User, workspace: Workspace, settings: Any
):
    settings.ASSISTANT_EXTRACTIVE_SCORER = "model"
    documents_ingested(owner_a, workspace, {"safety.md": SAFETY})

    planned = plan(owner_a, workspace, "what shoes do I need to wear in the warehouse?")

    assert planned.answered
    assert "Safety boots with steel toe caps" in said(planned)


@pytest.mark.parametrize("scorer", ["rules", "model"])
def test_a_question_nothing_answers_is_refused(
    owner_a: User, workspace: Workspace, settings: Any, scorer: str
):
    settings.ASSISTANT_EXTRACTIVE_SCORER = scorer
    documents_ingested(owner_a, workspace, {"safety.md": SAFETY})

    planned = plan(owner_a, workspace, "Is there a discount on the staff car wash?")

    assert not planned.answered
    assert planned.refusal == NOT_FOUND


def test_a_question_in_another_language_is_told_why_it_is_not_answered(
    owner_a: User, workspace: Workspace
):
    documents_ingested(owner_a, workspace, {"safety.md": SAFETY})

    planned = plan(owner_a, workspace, "Wo ist der Sammelplatz bei einem Feueralarm?")

    assert not planned.answered
    assert "workspace's language (English)" in planned.refusal
    assert "German" in planned.refusal
    assert "Vertex AI" in planned.refusal


@pytest.mark.parametrize("scorer", ["rules", "model"])
def test_two_versions_that_disagree_are_both_given_and_said_to_differ(
    owner_a: User, workspace: Workspace, settings: Any, scorer: str
):
    settings.ASSISTANT_EXTRACTIVE_SCORER = scorer
    documents_ingested(
        owner_a, workspace, {"it-faq-2023.txt": PASSWORDS_2023, "it-faq-2025.txt": PASSWORDS_2025}
    )

    planned = plan(owner_a, workspace, "What is the minimum password length?")

    assert planned.answered
    assert planned.preface == DIFFER
    assert "14 characters" in said(planned)
    assert "16 characters" in said(planned)
    passages = {part.passage for part in planned.parts}
    assert len(passages) == 2


def test_a_summary_gives_each_section_s_opening_sentence_cited(owner_a: User, workspace: Workspace):
    documents_ingested(owner_a, workspace, {"safety.md": SAFETY, "it-faq-2025.txt": PASSWORDS_2025})

    made = prepared(owner_a, workspace, "Summarise the warehouse safety manual")

    assert isinstance(made.plan, Plan)
    assert made.plan.answered
    assert made.plan.preface.startswith("Warehouse safety manual")
    text = said(made.plan)
    assert "Safety boots with steel toe caps" in text
    assert "Only staff holding a valid forklift licence" in text
    assert "The assembly point is the north car park." in text
    assert "service desk" not in text
    assert cited_passages_hold_their_quotes(made)


def test_what_a_named_document_says_about_a_topic_comes_from_that_document(
    owner_a: User, workspace: Workspace
):
    documents_ingested(
        owner_a, workspace, {"it-faq-2023.txt": PASSWORDS_2023, "it-faq-2025.txt": PASSWORDS_2025}
    )

    made = prepared(owner_a, workspace, "What does the IT FAQ 2025 edition say about passwords?")

    assert isinstance(made.plan, Plan)
    assert made.plan.answered
    assert "16 characters" in said(made.plan)
    assert "14 characters" not in said(made.plan)
    assert cited_passages_hold_their_quotes(made)


def test_a_question_that_only_starts_like_a_summary_is_answered_as_a_question(
    owner_a: User, workspace: Workspace
):
    documents_ingested(owner_a, workspace, {"safety.md": SAFETY})

    planned = plan(owner_a, workspace, "What is the speed limit for forklifts in the warehouse?")

    assert planned.answered
    assert planned.preface == ""
    assert "8 km/h" in said(planned)
    assert "assembly point" not in said(planned)


def test_local_rerank_puts_the_passage_that_answers_first(owner_a: User, workspace: Workspace):
    documents_ingested(owner_a, workspace, {"safety.md": SAFETY, "it-faq-2025.txt": PASSWORDS_2025})
    question = "who should I ring if my laptop goes missing?"
    chunks = chunks_retrieve(user=owner_a, query=question, within=[workspace.pk], k=10)

    ranked = chunks_rerank_local(query=question, chunks=chunks, language="english")

    assert "extension 4000" in ranked[0].text
