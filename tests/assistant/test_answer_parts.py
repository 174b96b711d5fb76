"""An answer does not say the same thing twice: a list's first items, read from one chunk,
are not said again beside the whole list read from the chunk that overlaps it."""

from assistant.llm.answer_parts import Part, parts_unrepeated

FIRST_ITEMS = "3.1 The first fifteen minutes:\n- Acknowledge the page.\n- Page the commander."
WHOLE_LIST = FIRST_ITEMS + "\n- Post a first update within 20 minutes."
ROW = "Severity: SEV2 · Acknowledge within: 15 minutes"


def part(passage: int, text: str) -> Part:
    return Part(passage=passage, position=0, text=text, quotes=(text,))


def test_a_part_another_says_in_full_is_left_out():
    parts = [part(1, FIRST_ITEMS), part(2, WHOLE_LIST), part(3, ROW)]

    assert [p.text for p in parts_unrepeated(parts)] == [WHOLE_LIST, ROW]


def test_of_two_parts_saying_the_same_the_first_stays():
    parts = [part(1, ROW), part(2, "Severity: SEV2  ·  Acknowledge within: 15 minutes")]

    assert [p.passage for p in parts_unrepeated(parts)] == [1]


def test_parts_saying_different_things_all_stay():
    parts = [part(1, ROW), part(2, FIRST_ITEMS)]

    assert parts_unrepeated(parts) == parts


def test_a_part_whose_every_unit_another_part_says_is_left_out():
    # The chunk that overlaps the whole list holds its lead-in and last item only.
    lead, first, last = "Key dates:", "Opening: 3 March", "Closing: 9 October"
    whole = Part(1, 0, f"{lead}\n- {first}\n- {last}", (lead, first, last))
    tail = Part(2, 0, f"{lead}\n- {last}", (lead, last))

    assert parts_unrepeated([tail, whole]) == [whole]
