"""Tags and filters narrow retrieval inside its SQL: a document outside the filter never
appears, however well it matches, and the top k are still k when enough chunks qualify."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from tests.assistant.conftest import documents_ingested
from workspaces.models import Document, Workspace
from workspaces.search.retrieval import RetrievalFilters, chunks_retrieve
from workspaces.services import WorkspaceError, document_tags_set, documents_tag
from workspaces.tags import TagRefused, tags_normalise


def _owner(workspace: Workspace) -> User:
    assert workspace.created_by is not None
    return workspace.created_by


@pytest.fixture
def tagged(workspace: Workspace) -> Workspace:
    """The best match for "warranty" is untagged; twelve weaker notes are tagged "policy"."""
    owner = _owner(workspace)
    notes = {
        f"note-{n}.md": f"# Note {n}\n\nRobots need care. Item {n} of the robot policy.\n".encode()
        for n in range(12)
    }
    documents_ingested(
        owner,
        workspace,
        {"warranty.md": b"# Warranty\n\nThe NR-200 robot warranty lasts 24 months.\n", **notes},
    )
    for document in Document.objects.filter(title__startswith="Note"):
        document_tags_set(actor=owner, document=document, tags="Policy, robots")
    return workspace


@pytest.mark.parametrize("mode", ["hybrid", "vector", "lexical"])
def test_document_outside_the_tag_filter_never_appears_even_as_best_match(
    tagged: Workspace, mode: str
):
    owner = _owner(tagged)
    unfiltered = chunks_retrieve(
        user=owner, query="robot warranty months", within=[tagged.pk], k=5, mode=mode
    )
    assert unfiltered[0].document_title == "Warranty"

    filtered = chunks_retrieve(
        user=owner, query="robot warranty months", within=[tagged.pk], k=5, mode=mode,
        filters=RetrievalFilters(tags=("policy",)),
    )  # fmt: skip
    assert filtered
    assert all(chunk.document_title.startswith("Note") for chunk in filtered)


@pytest.mark.parametrize("mode", ["hybrid", "vector"])
def test_with_a_tag_filter_the_top_k_are_still_k(tagged: Workspace, mode: str):
    chunks = chunks_retrieve(
        user=_owner(tagged), query="robot warranty", within=[tagged.pk], k=10, mode=mode,
        filters=RetrievalFilters(tags=("robots",)),
    )  # fmt: skip
    assert len(chunks) == 10
    assert {chunk.document_title for chunk in chunks} <= {f"Note {n}" for n in range(12)}


def test_kind_and_updated_after_filters_narrow_the_sql(tagged: Workspace):
    owner = _owner(tagged)
    kinds = chunks_retrieve(
        user=owner, query="warranty", within=[tagged.pk],
        filters=RetrievalFilters(kinds=("pdf",)),
    )  # fmt: skip
    assert kinds == []
    Document.objects.filter(title="Warranty").update(updated_at=timezone.now() - timedelta(days=30))
    recent = chunks_retrieve(
        user=owner, query="robot warranty months", within=[tagged.pk], k=20,
        filters=RetrievalFilters(updated_after=timezone.localdate() - timedelta(days=2)),
    )  # fmt: skip
    assert recent and "Warranty" not in {chunk.document_title for chunk in recent}


def test_tags_are_trimmed_case_folded_and_deduplicated():
    assert tags_normalise("  Policy ,POLICY, Human   Resources,,") == ["policy", "human resources"]


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("x" * 41, "longer than 40 characters"),
        ("<script>", "only letters, digits"),
        (",".join(f"t{n}" for n in range(21)), "at most 20 tags"),
    ],
)
def test_a_bad_tag_is_refused_with_a_sentence(text: str, sentence: str):
    with pytest.raises(TagRefused, match=sentence):
        tags_normalise(text)


def test_changing_tags_bumps_the_index_version(tagged: Workspace):
    owner = _owner(tagged)
    document = Document.objects.get(title="Warranty")
    before = Workspace.objects.get(pk=tagged.pk).index_version
    document_tags_set(actor=owner, document=document, tags="warranty")
    assert Workspace.objects.get(pk=tagged.pk).index_version == before + 1
    assert documents_tag(actor=owner, workspace=tagged, document_ids=[document.pk], tags="hr") == 1
    assert Workspace.objects.get(pk=tagged.pk).index_version == before + 2
    assert Document.objects.get(pk=document.pk).tags == ["warranty", "hr"]
    with pytest.raises(WorkspaceError, match="longer than"):
        document_tags_set(actor=owner, document=document, tags="y" * 50)
