"""The offline provider answers from the sample handbook, cites the right document, and
says plainly when the knowledge base has nothing."""

import itertools

import pytest

from assistant.llm import NOT_FOUND
from assistant.models import MessageStatus
from tests.assistant.conftest import Handbook, ask

# The plain-text FAQ's title is its first line, in capitals there.
PRODUCT_FAQ = "Northwind Robotics - Product FAQ: NR-200 and NR-350 Autonomous Mobile Robots"
ANSWERABLE = [
    (
        "How many vacation days do employees get?",
        "Northwind Robotics Employee Handbook: Time Off & Leave",
        "25",
    ),
    ("What is the battery life of the NR-350?", PRODUCT_FAQ, "8 hours"),
    ("How long is the warranty on the NR-200?", PRODUCT_FAQ, "24 months"),
    ("What is the limit for accepting a gift?", "Northwind Robotics Code of Conduct", "EUR 75"),
    # Both the policy and the onboarding guide name the anchor days; either is a source.
    (
        "Which days are the office anchor days?",
        (
            "Remote & Hybrid Work Policy",
            "Welcome to Northwind Robotics: Onboarding Guide for New Hires",
        ),
        "Tuesday",
    ),
    ("How much is the home office stipend?", "Remote & Hybrid Work Policy", "EUR 500"),
]
UNANSWERABLE = [
    "Who won the football world cup in 1998?",
    "How do I bake sourdough bread?",
    "What is the capital of Australia?",
]


@pytest.mark.parametrize(("question", "document", "fact"), ANSWERABLE)
def test_answer_quotes_and_cites_the_document_that_holds_it(
    handbook: Handbook, committed: None, question: str, document: str | tuple[str, ...], fact: str
):
    documents = (document,) if isinstance(document, str) else document
    answer, _ = ask(handbook.organization, handbook.owner, question)

    assert answer.status == MessageStatus.DONE
    assert answer.answered
    assert fact in answer.text
    assert "[1]" in answer.text
    titles = [c.document_title for c in answer.citations.all()]
    assert set(documents) & set(titles)
    cited = next(c for c in answer.citations.all() if fact in c.quote)
    assert cited.document_title in documents


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_question_the_handbook_does_not_cover_gets_the_plain_refusal(
    handbook: Handbook, committed: None, question: str
):
    answer, _ = ask(handbook.organization, handbook.owner, question)

    assert answer.status == MessageStatus.DONE
    assert answer.text == NOT_FOUND
    assert not answer.answered
    assert not answer.citations.all()


def test_answer_streams_in_several_growing_steps(handbook: Handbook, committed: None):
    answer, partials = ask(handbook.organization, handbook.owner, "How long is parental leave?")

    assert len(partials) > 3
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(partials))
    assert answer.first_token_ms is not None
    assert answer.latency_ms is not None and answer.latency_ms >= answer.first_token_ms


def test_follow_up_is_understood_with_the_previous_question(handbook: Handbook, committed: None):
    first, _ = ask(handbook.organization, handbook.owner, "How many vacation days do I get?")
    follow_up, _ = ask(
        handbook.organization,
        handbook.owner,
        "and can I carry them over?",
        conversation=first.conversation,
    )

    assert "carry over" in follow_up.text
    assert "Northwind Robotics Employee Handbook: Time Off & Leave" in [
        c.document_title for c in follow_up.citations.all()
    ]


def test_a_summary_is_streamed_and_every_section_it_quotes_is_cited(
    handbook: Handbook, committed: None
):
    answer, _ = ask(
        handbook.organization, handbook.owner, "Summarise the Remote & Hybrid Work Policy"
    )

    assert answer.answered
    assert answer.text.startswith("Remote & Hybrid Work Policy, section by section:")
    citations = list(answer.citations.all())
    assert len(citations) >= 3
    assert {c.document_title for c in citations} == {"Remote & Hybrid Work Policy"}
    assert all(f"[{c.marker}]" in answer.text for c in citations)


def test_a_question_in_another_language_gets_the_sentence_saying_why(
    handbook: Handbook, committed: None
):
    answer, _ = ask(
        handbook.organization, handbook.owner, "Combien coûte la pension du chien du bureau ?"
    )

    assert not answer.answered
    assert "workspace's language (English)" in answer.text
    assert "French" in answer.text
    assert not answer.citations.all()
