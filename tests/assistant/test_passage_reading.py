"""Reading passages into whole sentences, rows with headers and lists with their lead-in,
and rewriting elliptical follow-ups from the previous question's frame (no database)."""

import pytest

from assistant.llm.followups import question_focus, standalone_question
from assistant.llm.passage_units import markdown_tables, passage_units

WRAPPED = """Staff may carry over up to five days, and any carried-over days must be taken by 31
March, after which they are forfeited. Unused days are not paid
out."""

CONTRACT = """Hotel caps
Location: Oslo · Nightly limit: NOK 1900 · Meals: NOK 600
Location: Rome · Nightly limit: EUR 170 · Meals: EUR 60
Each postmortem must include:
- a timeline of events;
- the root cause.
Q: How long must a password be?
A: Passwords must be at least 14 characters long."""


def kinds(text: str) -> list[tuple[str, str]]:
    return [(u.kind, u.text) for u in passage_units(text, passage=1)]


def test_wrapped_lines_are_read_as_whole_sentences():
    assert kinds(WRAPPED) == [
        (
            "sentence",
            "Staff may carry over up to five days, and any carried-over days must be taken "
            "by 31 March, after which they are forfeited.",
        ),
        ("sentence", "Unused days are not paid out."),
    ]


def test_rows_lists_and_faq_answers_of_the_chunk_contract():
    units = passage_units(CONTRACT, passage=1)
    rows = [u for u in units if u.kind == "row"]
    assert rows[1].text == "Location: Rome · Nightly limit: EUR 170 · Meals: EUR 60"
    assert rows[1].context == "Hotel caps"
    lead = next(u for u in units if u.kind == "lead")
    assert lead.text == "Each postmortem must include:"
    items = [u.text for u in units if u.kind == "item" and u.block == lead.block]
    assert items == ["a timeline of events;", "the root cause."]
    answer = units[-1]
    assert answer.text == "Passwords must be at least 14 characters long."
    assert answer.context == "How long must a password be?"
    assert not any(u.text.startswith(("Q:", "A:")) for u in units)


def test_a_table_drawn_as_text_columns_keeps_its_header_with_each_row():
    text = "Table 2 - Hotel caps\nCity Hotel cap Meals\nLondon £210 £55\nLisbon €150 €45\n"
    rows = [u for u in passage_units(text, passage=1) if u.kind == "row"]
    assert [r.text for r in rows] == [
        "City Hotel cap Meals: London £210 £55",
        "City Hotel cap Meals: Lisbon €150 €45",
    ]
    assert rows[0].context == "Table 2 - Hotel caps"


def test_pipe_rows_become_a_markdown_table_for_the_model():
    table = markdown_tables("Caps\nCity: Oslo · Limit: NOK 1900\nCity: Rome · Limit: EUR 170")
    assert table.splitlines() == [
        "Caps",
        "| City | Limit |",
        "|---|---|",
        "| Oslo | NOK 1900 |",
        "| Rome | EUR 170 |",
    ]


@pytest.mark.parametrize(
    ("turns", "standalone"),
    [
        (
            [
                "How long is paid leave for the primary caregiver?",
                "and for the secondary caregiver?",
            ],
            "How long is paid leave for the secondary caregiver?",
        ),
        (["What is the hotel limit in Oslo?", "and in Rome?"], "What is the hotel limit in Rome?"),
        (
            ["What is the hotel limit in Oslo?", "what about Rome?"],
            "What is the hotel limit in Rome?",
        ),
        (
            ["How fast must a P1 ticket be answered?", "and a P3?"],
            "How fast must a P3 ticket be answered?",
        ),
        (
            ["What is the mileage rate?", "and once I pass 10,000 miles?"],
            "What is the mileage rate, once I pass 10,000 miles?",
        ),
        (
            ["I am moving to the Oslo office.", "How many public holidays do we get there?"],
            "How many public holidays do we get in the Oslo office?",
        ),
        (
            ["How many vacation days do I get?", "and can I carry them over?"],
            "Can I carry vacation days over?",
        ),
        (["How many vacation days do I get?", "Who approves expenses?"], "Who approves expenses?"),
        # The first word of a sentence is not a name, and "and" is not part of the slot.
        (
            [
                "I am moving to the Oslo office. Who should I tell?",
                "How many days off do we get there?",
            ],
            "How many days off do we get in the Oslo office?",
        ),
        (
            ["What is the hotel limit in Oslo and how do I book it?", "and in Rome?"],
            "What is the hotel limit in Rome and how do I book it?",
        ),
        # A quantity the follow-up gives takes the place of the one in the same unit.
        (
            [
                "I've worked here for three years. How many weeks of sick pay do I get?",
                "what about someone who has been here more than five years?",
            ],
            "I've worked here. How many weeks of sick pay do I get, someone who has been here "
            "more than five years?",
        ),
        (
            [
                "What is the overtime rate after 35 hours in a week?",
                "and once I have done 40 hours?",
            ],
            "What is the overtime rate once I have done 40 hours?",
        ),
        # A value of the same kind as a name takes its place, not another name's.
        (
            ["What do Oslo nurses get paid for working on a Sunday?", "and the Bergen nurses?"],
            "What do the Bergen nurses get paid for working on a Sunday?",
        ),
        # A value that names its place after other words is that place.
        (
            ["How much notice do I give in the Oslo office?", "and if I was based in Bergen?"],
            "How much notice do I give in Bergen?",
        ),
        (
            ["How many days off do I get in Oslo?", "and if I was on the night rota at Bergen?"],
            "How many days off do I get on the night rota at Bergen?",
        ),
        # A value that names nothing does not take the place of a name...
        (
            ["When does the early shift start at the Oslo depot?", "what about nights?"],
            "When does the early shift start at the Oslo depot, nights?",
        ),
        # ... unless both are the same kind of phrase.
        (
            ["I'm a B2 - what's my training budget?", "is it the same for a manager?"],
            "I'm a manager - what's my training budget?",
        ),
        # A condition takes the place of the previous question's last condition.
        (
            ["What is a trainee paid per hour when they first start?", "and after a year?"],
            "What is a trainee paid per hour after a year?",
        ),
    ],
)
def test_elliptical_follow_up_is_rewritten_from_the_previous_questions_frame(
    turns: list[str], standalone: str
):
    history: list[str] = []
    for turn in turns:
        history.append(standalone_question(turn, history))
    assert history[-1] == standalone


@pytest.mark.parametrize(
    ("question", "focus"),
    [
        (
            "Besides holiday, sick and parental leave, what other paid leave can I take?",
            "What other paid leave can I take?",
        ),
        (
            "What other paid leave is there apart from holiday and sick leave?",
            "What other paid leave is there?",
        ),
        ("Apart from Slack, how do I reach IT?", "How do I reach IT?"),
        # Nothing set aside: the question stays as asked.
        ("Besides, what is the hotel cap?", "Besides, what is the hotel cap?"),
        ("What is the hotel cap in Lisbon?", "What is the hotel cap in Lisbon?"),
    ],
)
def test_what_a_question_sets_aside_is_not_searched(question: str, focus: str):
    assert question_focus(question) == focus
