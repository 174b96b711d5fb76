"""An answer about something else is not given as the answer: asked about the Bergen
office, the offline provider does not answer from the Oslo office's guide, and says why;
a name the answer's passage has no sibling of (a weekday the documents use elsewhere) is
answered as before."""

from accounts.models import User
from assistant.llm import Passage
from assistant.llm.extractive import ExtractiveProvider, Plan
from assistant.llm.scope import ELSEWHERE
from tests.assistant.conftest import documents_ingested
from workspaces.embedding.model import embeddings_default
from workspaces.models import Workspace
from workspaces.search.retrieval import chunks_retrieve

PENSIONS = b"""# Pensions

| Site | Employer contribution |
|---|---|
| Oslo | 5% |
| Bergen | 6% |
"""

OSLO_GUIDE = b"""# Oslo office guide

## Parking

The building has 12 car parking spaces, given to Blue Badge holders first.

## Post

Parcels for staff are delivered to reception on Monday mornings.
"""

FIRST_DAY = b"""# Your first day

Bring photo ID and your bank details on your first day, so that we can pay you.
"""


def plan(owner: User, workspace: Workspace, question: str) -> Plan:
    vector = embeddings_default().embed_query(question)
    chunks = chunks_retrieve(
        user=owner, query=question, within=[workspace.pk], k=6, query_vector=vector
    )
    prepared = ExtractiveProvider().prepare(
        question=question,
        passages=[Passage(number, chunk) for number, chunk in enumerate(chunks, start=1)],
        history=(),
        language="english",
        workspace_ids=[workspace.pk],
    )
    assert isinstance(prepared.plan, Plan)
    return prepared.plan


def ingested(owner: User, workspace: Workspace) -> None:
    documents_ingested(
        owner,
        workspace,
        {"pensions.md": PENSIONS, "oslo.md": OSLO_GUIDE, "first-day.md": FIRST_DAY},
    )


def test_asked_about_one_office_the_guide_of_another_is_not_the_answer(
    owner_a: User, workspace: Workspace
):
    ingested(owner_a, workspace)

    bergen = plan(owner_a, workspace, "How many parking spaces does the Bergen office have?")

    assert not bergen.answered
    assert bergen.refusal == (
        "I could not find anything about this for Bergen. The closest passages are about "
        "Oslo, so I will not guess."
    )


def test_asked_about_the_office_the_guide_is_about_it_answers(owner_a: User, workspace: Workspace):
    ingested(owner_a, workspace)

    oslo = plan(owner_a, workspace, "How many parking spaces does the Oslo office have?")

    assert oslo.answered
    assert "12 car parking spaces" in " ".join(part.text for part in oslo.parts)


def test_a_name_the_answer_has_no_sibling_of_does_not_stop_it(owner_a: User, workspace: Workspace):
    ingested(owner_a, workspace)

    # The documents use "Monday" and the first-day page does not, but nothing that page is
    # about is set beside Monday as the same kind of thing.
    first_day = plan(owner_a, workspace, "I start on Monday, what should I bring on my first day?")

    assert first_day.answered
    assert "photo ID" in " ".join(part.text for part in first_day.parts)


def test_a_document_the_reader_may_not_read_does_not_shape_the_answer(
    owner_a: User, workspace: Workspace
):
    from workspaces.models import Document
    from workspaces.readers import DocumentReaders, document_readers_set

    ingested(owner_a, workspace)
    # The pensions table is the only place Bergen stands beside Oslo; its source lets
    # only someone else read it, so what it says cannot decide this reader's answer.
    pensions = Document.objects.get(workspace=workspace, original_name="pensions.md")
    document_readers_set(
        document=pensions,
        readers=DocumentReaders(restricted=True, emails=frozenset({"someone@else.example"})),
    )

    bergen = plan(owner_a, workspace, "How many parking spaces does the Bergen office have?")

    assert bergen.answered


HOTELS = b"""# Travel

## Hotels

| Location | Hotel per night |
|---|---|
| Bergen | 170 euros |
| Stavanger | 120 euros |
"""


LEARNING = b"""# Learning

| Role | Course budget |
|---|---|
| Vet | 2000 euros |
| Nurse | 800 euros |
"""


def test_a_place_no_document_names_is_not_answered_with_other_places_rows(
    owner_a: User, workspace: Workspace
):
    documents_ingested(owner_a, workspace, {"travel.md": HOTELS, "learning.md": LEARNING})

    trondheim = plan(owner_a, workspace, "What is the hotel limit per night in Trondheim?")
    bergen = plan(owner_a, workspace, "What is the hotel limit per night in Bergen?")
    # Stavanger is a place the documents name, and nothing sets it beside the roles.
    roles = plan(owner_a, workspace, "I work in Stavanger. What is the course budget per role?")

    assert not trondheim.answered
    assert trondheim.refusal == ELSEWHERE.format(asked="Trondheim", about="Bergen and Stavanger")
    assert bergen.answered
    assert "170 euros" in " ".join(part.text for part in bergen.parts)
    assert roles.answered
    assert "800 euros" in " ".join(part.text for part in roles.parts)


OFFICES = b"""# Offices

| Office | Opened |
|---|---|
| Oslo | 2009 |
| Bergen | 2014 |
| Stavanger | 2019 |
"""

SCREENS = b"""# Screen work

Staff at Oslo and Stavanger who use a screen every day can claim an eye test every two years,
up to 400 kroner at Oslo and 450 kroner at Stavanger.
"""

LAPTOPS = b"""# Laptops

Laptops are replaced every four years, unless the Oslo service desk finds one unsafe sooner.
"""


def test_a_figure_given_for_two_other_offices_is_not_the_answer_for_a_third(
    owner_a: User, workspace: Workspace
):
    documents_ingested(owner_a, workspace, {"offices.md": OFFICES, "screens.md": SCREENS})

    bergen = plan(owner_a, workspace, "How much can I claim for an eye test at the Bergen office?")
    oslo = plan(owner_a, workspace, "How much can I claim for an eye test at the Oslo office?")

    assert not bergen.answered
    assert bergen.refusal == ELSEWHERE.format(asked="Bergen", about="Oslo and Stavanger")
    assert oslo.answered
    assert "400 kroner" in " ".join(part.text for part in oslo.parts)


def test_a_rule_for_everyone_that_names_one_other_office_as_its_exception_is_answered(
    owner_a: User, workspace: Workspace
):
    documents_ingested(owner_a, workspace, {"offices.md": OFFICES, "laptops.md": LAPTOPS})

    bergen = plan(owner_a, workspace, "How often are laptops replaced at the Bergen office?")

    assert bergen.answered
    assert "every four years" in " ".join(part.text for part in bergen.parts)


DEPOTS = b"""# Our depots

## Managers

The Oslo depot is run by Kari Berg, and the Bergen depot by Ola Dahl. Depot managers hold
the keys to the yard and sign off every overtime sheet.

## Travel

Staff travelling abroad on company business book flights through the travel desk at least
two weeks ahead.
"""


def test_a_named_one_of_a_kind_the_documents_never_name_is_not_answered_from_the_others(
    owner_a: User, workspace: Workspace
):
    documents_ingested(owner_a, workspace, {"depots.md": DEPOTS})

    narvik = plan(owner_a, workspace, "I'm covering a shift at the Narvik depot. Who runs it?")
    # A place named in passing, not as one of the depots, does not stop the answer.
    abroad = plan(
        owner_a, workspace, "I'm flying to Portugal next month for work. How do I book flights?"
    )

    assert not narvik.answered
    assert narvik.refusal == ELSEWHERE.format(asked="the Narvik depot", about="Bergen and Oslo")
    assert abroad.answered
    assert "travel desk" in " ".join(part.text for part in abroad.parts)
