"""What the extractive provider says, on a small document ingested for real: only the list
items that answer, what a question sets aside left out, a follow-up answered with what is
said like the previous answer, a table's row found by what its first cell names, and a word
found through another form of it."""

from collections.abc import Sequence

from accounts.models import User
from assistant.llm import Passage, Turn
from assistant.llm.extractive import ExtractiveProvider, Plan
from assistant.llm.followups import question_focus, standalone_question
from tests.assistant.conftest import documents_ingested
from workspaces.embedding.model import embeddings_default
from workspaces.models import Workspace
from workspaces.search.retrieval import chunks_retrieve

HANDBOOK = b"""# Staff handbook

## Laptops

- Disks must be encrypted at all times.
- Screens lock automatically after 5 minutes of inactivity.
- Operating system updates must be installed within 14 days of release.
- Laptops must never be lent to family members or friends.

## Other paid leave

- Volunteering: two paid days each year for work with a registered charity.
- Jury service: full pay for up to 15 working days.
- Moving house: one paid day when you move home.

## Holiday and sick leave

Everyone gets 25 days of holiday a year. Sick leave is paid for up to 20 days a year.

## Parental leave

The primary carer receives 26 weeks of leave at full pay. The secondary carer receives
six weeks of leave at full pay. Tell your manager about your leave 15 weeks ahead.

## Classifying data

Every piece of information falls into one of three classes:

- Public: anyone may see it, such as the website.
- Internal: for staff only, such as this handbook.
- Restricted: the most sensitive data, such as salaries.
"""

COURSES = b"""# Induction

## Mandatory courses

| Course | Deadline | Given by |
|---|---|---|
| Ladder safety | Within the first week | Fall Protection Officer |
| GDPR and customer data | Within 30 days | Online portal |
| Fire warden basics | Day one | Site manager |
"""


def answer(
    owner: User,
    workspace: Workspace,
    question: str,
    history: Sequence[Turn] = (),
    original: str = "",
) -> str:
    """The answer's text as the provider plans it, from the passages retrieval gives for
    the question (what it sets aside left out, as when answering)."""
    focus = question_focus(question)
    vector = embeddings_default().embed_query(focus)
    chunks = chunks_retrieve(
        user=owner, query=focus, within=[workspace.pk], k=6, query_vector=vector
    )
    passages = [Passage(number, chunk) for number, chunk in enumerate(chunks, start=1)]
    provider = ExtractiveProvider()
    prepared = provider.prepare(
        question=question,
        passages=passages,
        history=history,
        language="english",
        workspace_ids=[workspace.pk],
        original=original or question,
    )
    assert isinstance(prepared.plan, Plan)
    return "\n".join(part.text for part in prepared.plan.parts)


def ingested(owner: User, workspace: Workspace) -> None:
    documents_ingested(owner, workspace, {"handbook.md": HANDBOOK})


def test_a_question_about_one_item_gets_that_item_not_the_whole_list(
    owner_a: User, workspace: Workspace
):
    ingested(owner_a, workspace)

    said = answer(owner_a, workspace, "How soon must operating system updates be installed?")

    assert "within 14 days" in said
    assert "Screens lock" not in said
    assert "encrypted" not in said


def test_a_question_about_the_list_gets_every_item(owner_a: User, workspace: Workspace):
    ingested(owner_a, workspace)

    said = answer(owner_a, workspace, "What are the classes of information?")

    for item in ("Public", "Internal", "Restricted"):
        assert item in said


def test_what_a_question_sets_aside_is_not_what_it_is_answered_with(
    owner_a: User, workspace: Workspace
):
    ingested(owner_a, workspace)

    said = answer(
        owner_a, workspace, "Besides holiday and sick leave, what other paid leave can I take?"
    )

    for kind in ("Volunteering", "Jury service", "Moving house"):
        assert kind in said
    assert "25 days of holiday" not in said


def test_a_follow_up_is_answered_with_what_is_said_like_the_previous_answer(
    owner_a: User, workspace: Workspace
):
    ingested(owner_a, workspace)
    first_question = "How long is fully paid leave for the primary carer?"
    first = answer(owner_a, workspace, first_question)
    assert "26 weeks" in first

    said = answer(
        owner_a,
        workspace,
        "How long is fully paid leave for the other parent?",
        history=(Turn(first_question, first),),
        original="and for the other parent?",
    )

    assert said.startswith("The secondary carer receives six weeks")
    assert "26 weeks" not in said


def test_a_word_is_found_through_another_form_of_it(owner_a: User, workspace: Workspace):
    ingested(owner_a, workspace)

    # "classification" and the heading's "Classifying" have different English stems.
    found = chunks_retrieve(
        user=owner_a, query="classification", within=[workspace.pk], k=3, mode="lexical"
    )

    assert found
    assert "Classifying data" in found[0].heading_path


def test_what_the_asker_tells_before_asking_does_not_stand_in_the_way(
    owner_a: User, workspace: Workspace
):
    ingested(owner_a, workspace)

    # The first two sentences are the asker's story: the handbook has almost none of their
    # words, and they are not what is asked. Counted against the passages, they made the
    # handbook's sick-leave passage look unrelated to the question.
    said = answer(
        owner_a,
        workspace,
        "My grandmother broke her hip skiing in Norway last winter, and my brother is stuck "
        "abroad with the car. Our landlord wants the rent early and I've been feeling "
        "exhausted. Is sick leave paid?",
    )

    assert "Sick leave is paid for up to 20 days a year." in said


LEAVE_BANDS = b"""# Annual leave

Your annual leave depends on your length of service.

| Length of service | Days of annual leave |
|---|---|
| Less than 2 years | 25 days |
| 2 to 5 years | 27 days |
| More than 5 years | 30 days |
"""


def test_a_quantity_in_the_question_picks_the_row_whose_range_holds_it(
    owner_a: User, workspace: Workspace
):
    documents_ingested(owner_a, workspace, {"leave.md": LEAVE_BANDS})

    said = answer(owner_a, workspace, "How much annual leave do I get? I've been here three years.")

    assert "2 to 5 years" in said and "27 days" in said
    assert "25 days" not in said and "30 days" not in said


def test_a_row_is_found_by_what_its_first_cell_names_not_a_word_further_along(
    owner_a: User, workspace: Workspace
):
    documents_ingested(owner_a, workspace, {"handbook.md": HANDBOOK, "induction.md": COURSES})

    said = answer(owner_a, workspace, "By when do I need to finish the data protection course?")

    assert "Within 30 days" in said
    assert "Ladder safety" not in said


FUEL_CARDS = b"""# Fleet policy

## Fuel cards

Drivers and fleet coordinators hold a fuel card. The weekly limit is 300 euros for drivers
and 900 euros for fleet coordinators. Use it for diesel, tyre pressure checks and car washes
at approved stations. It must never be used for a private vehicle, even if you mean to
repay it. Upload the receipts and check off your card statement in the fleet app by the
second Wednesday of the next month. A card left unchecked for two months is frozen.
"""


def test_the_second_half_of_a_two_part_question_is_answered_beside_the_first(
    owner_a: User, workspace: Workspace
):
    documents_ingested(owner_a, workspace, {"fleet.md": FUEL_CARDS})

    said = answer(
        owner_a,
        workspace,
        "I've just been handed a fuel card as a driver. What's the weekly limit, and when "
        "does the statement have to be sorted?",
    )

    assert "300 euros" in said
    assert "second Wednesday" in said


TRIAL = b"""# Handbook

## Extending the trial period

If needed, the trial period can be lengthened once, by up to eight weeks.

## During the trial

- Your team lead books a coffee with you in your first week
- Your team lead shows you the kitchen, the fire exits and the car park
- Your team lead signs your timesheet every Friday
"""


def test_what_the_asker_tells_is_not_answered_for_its_own_sake(owner_a: User, workspace: Workspace):
    documents_ingested(owner_a, workspace, {"handbook.md": TRIAL})

    said = answer(
        owner_a,
        workspace,
        "My team lead says my trial period might be lengthened. By how much can they stretch it?",
    )

    assert "eight weeks" in said
    assert "coffee" not in said and "timesheet" not in said


SETTLING_IN = b"""# Starter guide

## Trial period

The trial period lasts four months. Your team lead checks in with you at 6 weeks, 3 months and
the end of month 4, and confirms the outcome in writing before the trial period ends. If
needed, the trial period can be lengthened once, by up to eight weeks. Notice during the
trial period is one week on either side.

## Pay

Pay day is the last working day of the month. Payslips are on the staff portal.

## Holidays

Holidays are booked in the rota app at least two weeks ahead.
"""


def test_each_clause_of_a_two_part_question_is_answered(owner_a: User, workspace: Workspace):
    documents_ingested(owner_a, workspace, {"starter.md": SETTLING_IN})

    said = answer(owner_a, workspace, "How long's the trial period, and can it be lengthened?")

    assert "lasts four months" in said
    assert "up to eight weeks" in said


TRAINING = b"""# Training matrix

| Role | Course | Renew every |
|---|---|---|
| Driver | Forklift licence | 3 years |
| Driver | Emergency first aid | 2 years |
| Driver | Fire marshal | 1 year |
| Cleaner | Emergency first aid | 2 years |
| Cleaner | Chemical handling | 1 year |
"""


def test_of_the_rows_a_question_names_alike_those_that_hold_the_rest_of_it_are_said(
    owner_a: User, workspace: Workspace
):
    documents_ingested(owner_a, workspace, {"training.md": TRAINING})

    said = answer(owner_a, workspace, "How often does a driver renew the forklift licence?")

    assert "3 years" in said
    assert "Fire marshal" not in said and "Emergency first aid" not in said


ROTA = b"""# Depot guide

## Shifts

Everyone on the depot floor works one of these shifts.

| Shift | Hours | Days |
|---|---|---|
| Early | 05:30 - 13:30 | Monday to Friday |
| Late | 13:30 - 21:30 | Monday to Friday |
| Night | 21:30 - 05:30 | Sunday to Thursday nights |

Shift swaps are agreed with the rota lead two days ahead.
"""


def test_a_follow_up_naming_another_row_is_answered_with_that_row_not_the_one_said(
    owner_a: User, workspace: Workspace
):
    documents_ingested(owner_a, workspace, {"depot.md": ROTA})
    first_question = "When does the early shift start at the depot?"
    first = answer(owner_a, workspace, first_question)
    assert "05:30 - 13:30" in first

    follow_up = standalone_question("what about nights?", [first_question])
    said = answer(
        owner_a,
        workspace,
        follow_up,
        history=(Turn(first_question, first),),
        original="what about nights?",
    )

    assert "21:30 - 05:30" in said
    assert "Early" not in said


CLAIMS = b"""# Expenses

## How to claim

- Claim through the Expenses page of the staff portal.
- Send in each claim within 45 days of the date you paid.
- Attach a photo of the receipt for anything over 15 euros.
- Your team lead approves the claim before it is paid.
"""


def test_a_question_asking_for_a_figure_gets_the_item_that_gives_it_not_the_whole_list(
    owner_a: User, workspace: Workspace
):
    documents_ingested(owner_a, workspace, {"expenses.md": CLAIMS})

    said = answer(owner_a, workspace, "How long after paying have I got to get my claim in?")

    assert "within 45 days" in said
    assert "team lead approves" not in said and "staff portal" not in said

    said = answer(owner_a, workspace, "What's the highest amount I can claim without a receipt?")

    assert "over 15 euros" in said
    assert "team lead approves" not in said and "staff portal" not in said
