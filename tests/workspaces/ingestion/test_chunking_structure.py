"""The chunk text contract (workspaces.ingestion.chunking): tables by rows with their
caption, lists with their lead-in, FAQ pairs as units, whole sentences, token windows."""

from workspaces.ingestion.chunking import sections_chunk
from workspaces.ingestion.parsing import document_parse
from workspaces.ingestion.parsing.structure import (
    Section,
    list_section,
    sections_finish,
    table_section,
)


def test_a_large_table_is_split_by_rows_each_chunk_starting_with_its_caption(settings):
    settings.CHUNK_TOKENS = 60
    rows = [["City", "Cap"]] + [[f"City number {n}", f"EUR {100 + n}"] for n in range(40)]
    table = table_section(rows, caption="Table 9 - Caps", heading_path=("Hotels",))
    assert table is not None

    chunks = sections_chunk([Section(text="Book through the desk."), table])

    table_chunks = [chunk for chunk in chunks if chunk.heading_path == "Hotels › Table 9 - Caps"]
    assert len(table_chunks) > 2
    assert all(chunk.text.startswith("Table 9 - Caps\nCity: City number") for chunk in table_chunks)
    rows_seen = [line for chunk in table_chunks for line in chunk.text.split("\n")[1:]]
    assert rows_seen == [f"City: City number {n} · Cap: EUR {100 + n}" for n in range(40)]
    assert chunks[0].text == "Book through the desk."


def test_a_table_without_caption_is_never_merged_with_prose():
    table = table_section([["Room", "Seats"], ["Avon", "12"]], heading_path=("Rooms",))
    assert table is not None
    prose = Section(text="Book rooms in the app.", heading_path=("Rooms",))

    chunks = sections_chunk([prose, table, prose])

    assert [chunk.text for chunk in chunks] == [
        "Book rooms in the app.",
        "Room: Avon · Seats: 12",
        "Book rooms in the app.",
    ]


def test_a_long_list_repeats_its_lead_in_in_every_part(settings):
    settings.CHUNK_TOKENS = 50
    items = list_section([f"item number {n} of the freeze calendar" for n in range(30)])
    assert items is not None
    sections = [Section(text="There are no deployments:"), items]

    chunks = sections_chunk(sections_finish(sections))

    assert len(chunks) > 2
    assert all(
        chunk.text.startswith("There are no deployments:\n- item number") for chunk in chunks
    )


def test_faq_markers_become_question_headings_and_answers_without_prefix():
    text = b"Q: Can I work abroad?\nA: Yes, for up to 20 days a year.\n\nQ: Is there a bonus?\nA: No.\n"

    chunks = sections_chunk(document_parse(data=text, filename="faq.txt").sections)

    assert [(chunk.heading_path, chunk.text) for chunk in chunks] == [
        ("Can I work abroad?", "Yes, for up to 20 days a year."),
        ("Is there a bonus?", "No."),
    ]


def test_line_end_hyphens_are_undone_only_inside_words():
    text = (
        b"Payroll runs monthly. The pay-\nroll team checks every fixed-\nterm contract and "
        b"each long-\nterm loan before the deadline of the month.\n"
    )

    parsed = document_parse(data=text, filename="notes.txt")

    assert [section.text for section in parsed.sections] == [
        "Payroll runs monthly. The payroll team checks every fixed-term contract and each "
        "long-term loan before the deadline of the month."
    ]


def test_text_with_no_breaks_at_all_is_split_by_tokens(settings):
    words = "lorem ipsum dolor sit amet consectetur adipiscing elit " * 20_000

    chunks = sections_chunk(document_parse(data=words.encode(), filename="one-line.txt").sections)

    assert len(chunks) > 100
    assert max(chunk.token_count for chunk in chunks) <= settings.CHUNK_TOKENS
