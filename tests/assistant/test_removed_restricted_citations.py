"""A document its source keeps to some readers stays kept to them after it is deleted (a
sync removes a file that left the synced folder): the answers that quoted it keep copies of
its title and passage, and those copies are read as the document was."""

from accounts.models import User
from assistant.answering import answer_finish
from assistant.conversations import feedback_set, question_ask
from assistant.llm import Passage, Usage
from assistant.models import Citation, Message
from assistant.selectors import ANSWER_WITHHELD, answers_withheld
from tenants.models import Organization
from tests.assistant.conftest import documents_ingested
from tests.conftest import signed_in
from tests.factories import make_member
from workspaces.models import Document, WorkspaceRole
from workspaces.readers import DocumentReaders, document_readers_set, source_group_members_set
from workspaces.search.retrieval import chunks_retrieve
from workspaces.services import grant_set, workspace_create

SALARIES = {
    "salary-bands.md": b"# Salary bands\n\nA senior engineer at Permfix earns 98,000 euros.\n"
}
SECRET = "98,000 euros"
HR_GROUP = "google_drive:hr-permfix@example.com"


def test_a_deleted_restricted_document_keeps_its_answers_from_people_it_did_not_let_read(
    org_a: Organization, owner_a: User
):
    people = workspace_create(actor=owner_a, name="People permfix", is_open=True)
    manager = make_member()
    grant_set(actor=owner_a, workspace=people, role=WorkspaceRole.MANAGER, grantee=manager)
    reader = make_member()
    documents_ingested(owner_a, people, SALARIES)
    document = Document.objects.get(workspace=people)
    document_readers_set(
        document=document, readers=DocumentReaders(restricted=True, groups=frozenset([HR_GROUP]))
    )
    source_group_members_set(key=HR_GROUP, members=[reader.email])
    conversation, _, reply = question_ask(user=reader, text="What does a senior engineer earn?")
    # What the answering path records before it retrieves (answering._prepare).
    Message.objects.filter(pk=reply.pk).update(searched_workspace_ids=[people.pk])
    chunk = chunks_retrieve(user=reader, query="senior engineer earn", within=[people.pk], k=1)[0]
    answer_finish(
        message_id=reply.pk, text=f"A senior engineer earns {SECRET} [1].",
        usage=Usage(model="extractive"), passages=[Passage(1, chunk)], latency_ms=1,
        first_token_ms=1,
    )  # fmt: skip
    reply = Message.objects.get(pk=reply.pk)
    feedback_set(user=reader, message=reply, rating=-1, comment="Out of date")
    citation = Citation.objects.get(message=reply)
    review = signed_in(org_a, manager)
    assert "Out of date" not in review.get("/ask/feedback/").content.decode()

    document.delete()  # as a sync does when the file leaves the synced folder

    html = review.get("/ask/feedback/").content.decode()
    assert SECRET not in html
    assert "Salary bands" not in html
    assert "Out of date" not in html
    # Its reader still reads the answer and its source ("source removed").
    page = signed_in(org_a, reader)
    own = page.get(f"/ask/c/{conversation.pk}/").content.decode()
    assert SECRET in own and ANSWER_WITHHELD not in own
    assert page.get(f"/ask/sources/{citation.pk}/").status_code == 200
    assert f"/ask/c/{conversation.pk}/" in page.get("/ask/", {"q": "senior"}).content.decode()

    # Taken out of the group at the source, they lose it as they would have the document.
    source_group_members_set(key=HR_GROUP, members=[])

    own = page.get(f"/ask/c/{conversation.pk}/").content.decode()
    assert SECRET not in own and ANSWER_WITHHELD in own
    assert "Salary bands" not in own
    assert page.get(f"/ask/sources/{citation.pk}/").status_code == 404
    assert f"/ask/c/{conversation.pk}/" not in page.get("/ask/", {"q": "98,000"}).content.decode()
    assert answers_withheld(user=reader, message_ids=[reply.pk]) == {reply.pk}
