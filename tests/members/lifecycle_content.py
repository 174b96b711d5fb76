"""An organization's content for the data-lifecycle tests, made through the services (the
documents uploaded and ingested for real) except the answered conversation, whose rows are
written directly: answering is not what these tests test."""

from dataclasses import dataclass

from django.contrib.auth.models import Group

from accounts.models import Role, User
from assistant.models import Citation, Conversation, Feedback, Message, MessageRole
from members.actions.groups import group_create, group_member_add
from tests.factories import make_member
from tests.files import upload
from workspaces.ingestion.pipeline import documents_ingest
from workspaces.models import Chunk, Document, Workspace, WorkspaceRole
from workspaces.services import document_upload, grant_set, workspace_create

HANDBOOK = (
    b"# Leave\n\n## Vacation\n\nEveryone gets 25 vacation days a year. Unused days carry over"
    b" until March.\n\n## Sick leave\n\nTell your manager before 10am. A doctor's note is"
    b" needed after three days.\n"
)
EXPENSES = b"Expenses\n\nReceipts are submitted within 30 days through the finance portal.\n"


@dataclass
class Content:
    owner: User
    member: User
    group: Group
    workspace: Workspace
    documents: list[Document]
    conversation: Conversation


def conversation_answered(
    *, user: User, question: str, document: Document, rating: int = 1
) -> Conversation:
    conversation = Conversation.objects.create(user=user, title=question[:60])
    Message.objects.create(conversation=conversation, role=MessageRole.USER, text=question)
    answer = Message.objects.create(
        conversation=conversation, role=MessageRole.ASSISTANT, text="25 days a year [1]."
    )
    chunk = Chunk.objects.filter(document=document).order_by("ordinal").first()
    assert chunk is not None
    Citation.objects.create(
        message=answer,
        marker=1,
        chunk=chunk,
        document=document,
        workspace_id_at_answer=document.workspace_id,
        document_title=document.title,
        passage_text=chunk.text,
        quote=chunk.text[:80],
        score=0.9,
    )
    Feedback.objects.create(message=answer, user=user, rating=rating, comment="Clear.")
    return conversation


def content_make(owner: User, *, member_email: str = "reader@example.com") -> Content:
    """Two documents in a restricted workspace granted to a group with one member, who asked
    one question that was answered with a citation and rated."""
    member = make_member(email=member_email, role=Role.MEMBER, full_name="Rea Der")
    group = group_create(actor=owner, name="Readers")
    group_member_add(actor=owner, group=group, email=member.email)
    workspace = workspace_create(actor=owner, name="Handbook", description="Policies")
    grant_set(actor=owner, workspace=workspace, role=WorkspaceRole.VIEWER, grantee=group)
    documents = [
        document_upload(actor=owner, workspace=workspace, upload=upload("leave.md", HANDBOOK)),
        document_upload(actor=owner, workspace=workspace, upload=upload("expenses.txt", EXPENSES)),
    ]
    documents_ingest(document_ids=[document.pk for document in documents])
    for document in documents:
        document.refresh_from_db()
    conversation = conversation_answered(
        user=member, question="How many vacation days do I get?", document=documents[0]
    )
    return Content(owner, member, group, workspace, documents, conversation)
