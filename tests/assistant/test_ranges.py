"""Quantities and ranges as the answer step reads them: numbers in words become digits, and
a table cell's range holds what a question's quantity names only in the same unit."""

import pytest

from assistant.llm.ranges import Range, cell_range, quantities, rows_in_range

BANDS = [["Less than 2 years", "25 days"], ["2 to 5 years", "27 days"], ["5+ years", "30 days"]]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("I've been here three years.", [1]),
        ("I joined 1 year ago.", [0]),
        ("Seven years now.", [2]),
        ("I have worked 2 days a week for ages.", None),  # days: not the rows' unit
        ("How much leave do I get?", None),
        # What the question allows, read as a range: not the band that ends at 5.
        ("What about more than five years?", [2]),
        ("I've been here about four and a half years.", [1]),
        ("And under two years?", [0]),
    ],
)
def test_the_question_quantity_picks_the_rows_that_hold_it(question, expected):
    assert rows_in_range(BANDS, question, "english") == expected


def range_of(text: str, language: str = "english") -> Range:
    found = cell_range(text, language)
    assert found is not None, text
    return found


def test_cell_ranges_in_words_and_symbols():
    assert range_of("between 1 and 4 nights").holds(4, "night")
    assert not range_of("more than 5 years").holds(5, "year")
    assert range_of("at least 5 years").holds(5, "year")
    assert range_of("3-5 years", "german").holds(4, "year")
    assert cell_range("zwischen 3 und 5 Jahren", "german") is None  # only symbols there
    assert cell_range("25 days", "english") is None


def test_numbers_in_words_become_digits():
    assert quantities("twenty-one days and three nights", "english") == [
        (21.0, "day"),
        (3.0, "night"),
    ]
