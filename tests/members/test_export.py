"""Export: an owner's "Export all data" is written by a real Celery worker into the private
file storage, downloaded once through a signed link that expires, and audited; the archive
imported into a fresh organization (manage.py organization_import) gives back its
documents, passages and conversations. A person exports their own conversations."""

import io
import json
import re
import time
import zipfile
from datetime import timedelta

from celery.contrib.testing.worker import start_worker
from django.contrib.auth.models import Group
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from assistant.models import Citation, Conversation, Feedback, Message
from audit.models import AuditAction, AuditEvent
from billing.models import BillingAccount
from lifecycle.export import archive_write, data_export_link_token, data_export_write
from lifecycle.models import DataExport, ExportStatus
from members.actions.signup import organization_signup
from saas.celery import app
from tenants.models import Organization
from tenants.schemas import schema_public_activate
from tests.conftest import signed_in
from tests.factories import OWNER_PASSWORD, make_member
from tests.members.lifecycle_content import content_make, conversation_answered
from workspaces.models import Chunk, Document, SourceGroup, WorkspaceGrant
from workspaces.readers import DocumentReaders, document_readers_set, source_group_members_set


def _archive(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _jsonl(archive: zipfile.ZipFile, name: str) -> list[dict]:
    return [json.loads(line) for line in archive.read(name).decode().splitlines()]


def test_export_written_by_the_worker_downloads_once_and_is_audited(
    django_db_setup, django_db_blocker, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    with django_db_blocker.unblock():
        # Committed for real (no test transaction): the worker has its own connection.
        organization, owner = organization_signup(
            name="Export Co",
            slug="export-co",
            owner_email="owner@export.example",
            owner_password=OWNER_PASSWORD,
        )
        try:
            with tenant_context(organization):
                content = content_make(User.objects.get(pk=owner.pk))
            client = signed_in(organization, owner)
            with start_worker(
                app,
                pool="solo",
                perform_ping_check=False,
                queues=[settings.CELERY_TASK_DEFAULT_QUEUE],
            ):
                started = client.post(reverse("lifecycle:export_start"))
                with tenant_context(organization):
                    deadline = time.monotonic() + 60
                    while DataExport.objects.get().is_busy and time.monotonic() < deadline:
                        time.sleep(0.1)
                    export = DataExport.objects.get()
            page = client.get(reverse("lifecycle:data"))
            found = re.search(r'href="(/members/data/exports/[^/"]+/)"', page.content.decode())
            assert found is not None
            link = found.group(1)
            download = client.get(link)
            archive = _archive(download)
            second = client.get(link)
            with tenant_context(organization):
                export.refresh_from_db()
                actions = list(AuditEvent.objects.values_list("action", flat=True))
                document = content.documents[0]
                chunk_texts = list(
                    Chunk.objects.filter(document=document).values_list("text", flat=True)
                )
        finally:
            schema_public_activate()
            BillingAccount.objects.filter(organization=organization).delete()
            Organization.objects.get(pk=organization.pk).delete(force_drop=True)

    assert started.status_code == 302
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith('attachment; filename="export-co-export-')
    assert export.status == ExportStatus.DOWNLOADED
    assert not default_storage.exists(export.file_name)  # gone once sent
    assert second.status_code == 410
    assert "downloaded already" in second.content.decode()
    assert AuditAction.EXPORT_STARTED in actions
    assert AuditAction.EXPORT_DOWNLOADED in actions
    names = set(archive.namelist())
    assert {
        "README.md",
        "manifest.json",
        "members.jsonl",
        "groups.jsonl",
        "grants.jsonl",
        "workspaces.jsonl",
        "documents.jsonl",
        "chunks.jsonl",
        "conversations.jsonl",
        "feedback.jsonl",
        "audit.jsonl",
    } <= names
    assert archive.read(f"files/{document.pk}/leave.md").startswith(b"# Leave")
    assert archive.read(f"text/{document.pk}.txt").decode() == "\n\n".join(chunk_texts)
    conversation = _jsonl(archive, "conversations.jsonl")[0]
    assert conversation["user"] == "reader@example.com"
    assert conversation["messages"][1]["citations"][0]["document_id"] == document.pk
    assert _jsonl(archive, "feedback.jsonl")[0]["comment"] == "Clear."
    assert {row["email"] for row in _jsonl(archive, "members.jsonl")} == {
        "owner@export.example",
        "reader@example.com",
    }
    assert _jsonl(archive, "grants.jsonl")[0]["group"] == "Readers"
    assert "workspace.created" in {row["action"] for row in _jsonl(archive, "audit.jsonl")}


def _content_summary() -> dict[str, object]:
    """What a round trip must give back, in the schema in force, free of ids."""
    conversations = [
        (c.user.email, c.title, list(c.messages.values_list("role", "text")))
        for c in Conversation.objects.select_related("user")
    ]
    return {
        "documents": sorted(Document.objects.values_list("title", "sha256", "chunks_total")),
        "chunks": Chunk.objects.count(),
        "chunk_texts": sorted(Chunk.objects.values_list("text", flat=True)),
        "conversations": sorted(conversations, key=repr),
        "citations": Citation.objects.count(),
        "feedback": sorted(Feedback.objects.values_list("rating", "comment")),
        "groups": sorted(Group.objects.values_list("name", flat=True)),
        "grants": WorkspaceGrant.objects.count(),
        "files": sorted(bytes(d.file.read()) for d in Document.objects.all()),
        "readers": sorted(
            Document.objects.values_list(
                "title",
                "source_url",
                "readers_restricted",
                "reader_emails",
                "reader_groups",
                "reader_domains",
            )
        ),
        "source_groups": sorted(SourceGroup.objects.values_list("key", "members")),
    }


def test_archive_imported_into_a_fresh_organization_gives_back_documents_chunks_and_talk(
    org_a, owner_a, tmp_path
):
    content = content_make(owner_a)
    conversation_answered(
        user=owner_a, question="Where do receipts go?", document=content.documents[1], rating=-1
    )
    # A synced document with its source's readers: they travel with it, or the import would
    # open it to the whole workspace.
    source_group_members_set(key="google_drive:team@example.com", members=["reader@example.com"])
    Document.objects.filter(pk=content.documents[0].pk).update(
        source_url="https://drive.example/d/1"
    )
    document_readers_set(
        document=content.documents[0],
        readers=DocumentReaders(
            restricted=True, emails=frozenset({"owner@alpha.example"}),
            groups=frozenset({"google_drive:team@example.com"}), domains=frozenset({"alpha.example"}),
        ),
    )  # fmt: skip
    path = tmp_path / "alpha.zip"
    with path.open("wb") as out:
        archive_write(out)
    before = _content_summary()
    chunks_before = Chunk.objects.count()
    schema_public_activate()
    fresh, _ = organization_signup(
        name="Fresh",
        slug="fresh-import",
        owner_email="owner@fresh.example",
        owner_password=OWNER_PASSWORD,
    )
    schema_public_activate()

    out = io.StringIO()
    call_command("organization_import", str(path), tenant="fresh-import", stdout=out)

    with tenant_context(fresh):
        after = _content_summary()
        cited = Citation.objects.select_related("chunk", "document").first()
        searchable = Chunk.objects.filter(search__isnull=False).count()
        reader = User.objects.get(email="reader@example.com")
    assert after == before
    assert chunks_before > 2
    assert cited is not None and cited.chunk is not None
    assert cited.chunk.document_id == cited.document_id
    assert searchable == after["chunks"]  # the lexical index was written too
    assert not reader.has_usable_password()
    assert "Imported into fresh-import" in out.getvalue()


def test_an_imported_answer_citing_a_deleted_restricted_document_stays_with_its_readers(
    org_a, owner_a, tmp_path
):
    content = content_make(owner_a)
    secret = content.documents[1]
    conversation_answered(user=owner_a, question="Where do receipts go?", document=secret)
    document_readers_set(
        document=secret,
        readers=DocumentReaders(restricted=True, emails=frozenset({"finance@alpha.example"})),
    )
    secret.delete()  # as a sync does when the file leaves the synced folder
    path = tmp_path / "alpha.zip"
    with path.open("wb") as out:
        archive_write(out)
    schema_public_activate()
    fresh, _ = organization_signup(
        name="Fresh", slug="fresh-permfix", owner_email="owner@fresh-permfix.example",
        owner_password=OWNER_PASSWORD,
    )  # fmt: skip
    schema_public_activate()

    call_command("organization_import", str(path), tenant="fresh-permfix", stdout=io.StringIO())

    with tenant_context(fresh):
        cited = Citation.objects.get(message__conversation__title="Where do receipts go?")
        assert cited.document_id is None
        assert (cited.readers_restricted, cited.reader_emails) == (
            True,
            ["finance@alpha.example"],
        )


def test_import_refuses_an_organization_with_content_with_a_sentence(org_a, owner_a, tmp_path):
    content_make(owner_a)
    path = tmp_path / "alpha.zip"
    with path.open("wb") as out:
        archive_write(out)
    schema_public_activate()

    try:
        call_command("organization_import", str(path), tenant="alpha")
    except Exception as error:  # CommandError
        refusal = str(error)
    assert refusal == "Import into a fresh organization: this one has content already."


def test_expired_and_forged_links_are_refused_with_a_sentence(org_a, owner_a, settings):
    export = DataExport.objects.create(requested_by=owner_a)
    data_export_write(export_id=export.pk)
    export.refresh_from_db()
    token = data_export_link_token(export=export)
    client = signed_in(org_a, owner_a)
    DataExport.objects.filter(pk=export.pk).update(
        finished_at=timezone.now()
        - timedelta(seconds=settings.DATA_EXPORT_LINK_MAX_AGE_SECONDS + 1)
    )

    expired = client.get(reverse("lifecycle:export_download", args=[token]))
    forged = client.get(reverse("lifecycle:export_download", args=[token[:-3] + "abc"]))

    assert expired.status_code == 410
    assert "This download link has expired. Start a new export." in expired.content.decode()
    assert forged.status_code == 410
    assert "This download link is not valid." in forged.content.decode()
    assert DataExport.objects.get(pk=export.pk).status == ExportStatus.READY


def test_only_owners_start_or_download_exports(org_a, owner_a):
    export = DataExport.objects.create(requested_by=owner_a)
    data_export_write(export_id=export.pk)
    token = data_export_link_token(export=DataExport.objects.get(pk=export.pk))
    for role in ("admin", "member", "billing_admin"):
        client = signed_in(org_a, make_member(role=role))
        assert client.post(reverse("lifecycle:export_start")).status_code == 404
        assert client.get(reverse("lifecycle:export_download", args=[token])).status_code == 404
    assert DataExport.objects.count() == 1
    assert DataExport.objects.get().status == ExportStatus.READY


def test_a_person_exports_their_own_conversations_only(org_a, owner_a):
    content = content_make(owner_a)
    conversation_answered(
        user=owner_a, question="Owner's own question?", document=content.documents[1]
    )
    client = signed_in(org_a, content.member)

    page = client.get(reverse("lifecycle:my_data"))
    response = client.post(reverse("lifecycle:my_conversations"))

    archive = _archive(response)
    conversations = _jsonl(archive, "conversations.jsonl")
    assert page.status_code == 200
    assert [c["title"] for c in conversations] == ["How many vacation days do I get?"]
    assert [f["user"] for f in _jsonl(archive, "feedback.jsonl")] == ["reader@example.com"]
    assert "README.md" in archive.namelist()
    event = AuditEvent.objects.get(action=AuditAction.CONVERSATIONS_EXPORTED)
    assert event.actor == content.member
    assert Message.objects.count() == 4


def test_export_posts_need_the_csrf_token(org_a, owner_a):
    client = signed_in(org_a, owner_a)
    client.handler.enforce_csrf_checks = True

    assert client.post(reverse("lifecycle:export_start")).status_code == 403
    assert client.post(reverse("lifecycle:my_conversations")).status_code == 403
    assert not DataExport.objects.exists()


def test_a_second_export_while_one_is_being_written_is_a_409_with_a_sentence(org_a, owner_a):
    client = signed_in(org_a, owner_a)

    first = client.post(reverse("lifecycle:export_start"))
    second = client.post(reverse("lifecycle:export_start"))

    assert first.status_code == 302
    assert second.status_code == 409
    assert "An export is already being written." in second.content.decode()
    assert DataExport.objects.count() == 1
