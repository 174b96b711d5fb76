"""The passage panel marks what the answer took from the passage, and nothing from the
document is ever markup."""

from assistant.rendering import passage_html

PASSAGE = (
    "## Hotels\n"
    "Book hotels through the travel portal. Receipts are required for every night.\n"
    "Location: London · Nightly limit: EUR 260\n"
    "Location: Dublin · Nightly limit: EUR 210\n"
    "Staff should <b>never</b> share a room & keep receipts."
)


def test_answer_sentences_and_table_rows_are_marked_and_the_rest_is_not():
    answer = (
        "Book hotels through the travel portal [1]. In London: "
        "Location: London · Nightly limit: EUR 260 [1]"
    )

    html = passage_html(PASSAGE, [], answer=answer)

    assert "<mark>Book hotels through the travel portal.</mark>" in html
    assert "<mark>Location: London · Nightly limit: EUR 260</mark>" in html
    assert "Location: Dublin · Nightly limit: EUR 210" in html
    assert html.count("<mark>") == 2


def test_marks_ignore_whitespace_case_and_emphasis_differences():
    answer = "Receipts   are REQUIRED for **every** night.\n[2]"

    html = passage_html(PASSAGE, [], answer=answer)

    assert "<mark>Receipts are required for every night.</mark>" in html


def test_document_markup_is_escaped_inside_and_outside_marks():
    answer = "Staff should <b>never</b> share a room & keep receipts."

    html = passage_html(PASSAGE, [], answer=answer)

    assert "<b>" not in html
    assert (
        "<mark>Staff should &lt;b&gt;never&lt;/b&gt; share a room &amp; keep receipts.</mark>"
        in html
    )


def test_quotes_are_marked_and_short_fragments_are_not():
    html = passage_html(PASSAGE, ["Location: Dublin · Nightly limit: EUR 210"], answer="Hotels.")

    assert "<mark>Location: Dublin · Nightly limit: EUR 210</mark>" in html
    assert "<mark>## Hotels</mark>" not in html
    assert html.count("<mark>") == 1
