"""What the answer model reads of a unit: where it sits (the last part of its heading
path), what it is about when read alone (the FAQ question above an answer, a list's lead-in,
a table's caption) and the unit itself. Training and answering both build it here, so the
model reads at answer time exactly what it was trained on."""

from assistant.llm.passage_units import Unit

SEPARATOR = " | "
# The question and the unit together, in tokens: past it the longer of the two is cut.
# Every (question, unit) pair of SQuAD part 1's training articles fits (the training run
# prints the share).
MAX_TOKENS = 128


def unit_input(unit: Unit, *, heading_path: str) -> str:
    section = heading_path.split(" › ")[-1].strip() if heading_path else ""
    parts = [section, unit.context if unit.context != section else "", unit.text]
    return SEPARATOR.join(part for part in parts if part)
