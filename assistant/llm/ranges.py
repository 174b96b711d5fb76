"""Quantities in a question and the ranges a table's cells give, so that "I've been here
three years" finds the row "2 to 5 years".

Numbers written as words become digits first (text2num, in the workspace languages). A cell
gives a range when it reads "A-B unit", "A+ unit" or, in English, "A to B", "between A and
B", "less than / under / up to A", "more than / over / at least A", "A or more"; the unit is
the word after the number, compared without its plural "s" ("3 years'" and "5 years").
"""

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from text_to_num import alpha2digit  # type: ignore[import-untyped]

from assistant.llm.languages import LANGUAGE_CODES

NUMBER = r"(\d+(?:[.,]\d+)?)"
UNIT = r"\s*([^\W\d_][\w'’]*)"
QUANTITY = re.compile(NUMBER + UNIT)
HALF = re.compile(r"\b(\d+) and a half\b")
# Ranges written with symbols, read in every language.
BETWEEN = re.compile(NUMBER + r"\s*(?:-|–|—)\s*" + NUMBER + UNIT)
AND_UP = re.compile(NUMBER + r"\s*\+" + UNIT)
# Ranges written in English words.
ENGLISH_BETWEEN = re.compile(
    r"(?:between\s+)?" + NUMBER + r"\s+(?:to|and)\s+" + NUMBER + UNIT, re.I
)
ENGLISH_BELOW = re.compile(r"\b(less than|fewer than|under|below|up to)\s+" + NUMBER + UNIT, re.I)
ENGLISH_ABOVE = re.compile(r"\b(more than|over|above|at least)\s+" + NUMBER + UNIT, re.I)
ENGLISH_OR_MORE = re.compile(NUMBER + UNIT + r"\s+or\s+more\b", re.I)


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    unit: str
    low_open: bool = False
    high_open: bool = False

    def holds(self, value: float, unit: str) -> bool:
        if unit != self.unit:
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def overlaps(self, other: "Range") -> bool:
        """Some value lies in both ("more than 5 years" and "over 5 years"; not "2 to 5
        years")."""
        if other.unit != self.unit:
            return False
        low, high = max(self.low, other.low), min(self.high, other.high)
        if low < high:
            return True
        return low == high and self.holds(low, self.unit) and other.holds(low, self.unit)


def _unit(word: str) -> str:
    word = word.lower().rstrip("'’")
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


def _number(text: str) -> float:
    return float(text.replace(",", "."))


@lru_cache(maxsize=4096)
def _digits(text: str, language: str) -> str:
    code = LANGUAGE_CODES.get(language)
    if code is None:
        return text
    try:
        # threshold 0: "two years" and "one day" are read too (the default leaves numbers
        # under 3 as words).
        text = str(alpha2digit(text, code, threshold=0))
    except ValueError:  # a text text2num cannot read keeps its words
        return text
    if language == "english":
        text = HALF.sub(r"\1.5", text)  # "3 and a half years" -> "3.5 years"
    return text


def quantities(text: str, language: str) -> list[tuple[float, str]]:
    """Each number of the text with the word after it: "three years" -> (3.0, "year")."""
    return [(_number(n), _unit(u)) for n, u in QUANTITY.findall(_digits(text, language))]


def cell_range(text: str, language: str) -> Range | None:
    """The range a table cell (or a row's key) gives, if it gives one."""
    text = _digits(text, language)
    if match := BETWEEN.search(text):
        low, high, unit = match.groups()
        return Range(_number(low), _number(high), _unit(unit))
    if match := AND_UP.search(text):
        low, unit = match.groups()
        return Range(_number(low), math.inf, _unit(unit))
    if language != "english":
        return None
    if match := ENGLISH_BETWEEN.search(text):
        low, high, unit = match.groups()
        return Range(_number(low), _number(high), _unit(unit))
    if match := ENGLISH_BELOW.search(text):
        words, high, unit = match.groups()
        inclusive = words.lower() == "up to"
        return Range(-math.inf, _number(high), _unit(unit), high_open=not inclusive)
    if match := ENGLISH_ABOVE.search(text):
        words, low, unit = match.groups()
        inclusive = words.lower() == "at least"
        return Range(_number(low), math.inf, _unit(unit), low_open=not inclusive)
    if match := ENGLISH_OR_MORE.search(text):
        low, unit = match.groups()
        return Range(_number(low), math.inf, _unit(unit))
    return None


def _quantity_phrases(
    text: str, patterns: list[re.Pattern[str]], language: str
) -> list[tuple[tuple[int, int], Range]]:
    """Each quantity of a text (numbers already digits) with where it stands: a range one of
    `patterns` reads ("more than 5 years": (5, inf) years), else a bare number ("3 years":
    3 years and nothing else)."""
    found: list[tuple[tuple[int, int], Range]] = []

    def free(match: re.Match[str]) -> bool:
        return not any(a < match.end() and match.start() < b for (a, b), _ in found)

    for pattern in patterns:
        for match in pattern.finditer(text):
            given = cell_range(match.group(0), language)
            if given is not None and free(match):
                found.append((match.span(), given))
    for match in QUANTITY.finditer(text):
        if free(match):
            value = _number(match.group(1))
            found.append((match.span(), Range(value, value, _unit(match.group(2)))))
    return found


ENGLISH_RANGES = [ENGLISH_BETWEEN, ENGLISH_BELOW, ENGLISH_ABOVE, ENGLISH_OR_MORE]


def asked_ranges(text: str, language: str) -> list[Range]:
    """What a question's quantities allow: "more than five years" is (5, inf) years, "three
    years" is 3 years and nothing else."""
    patterns = ENGLISH_RANGES if language == "english" else []
    return [given for _, given in _quantity_phrases(_digits(text, language), patterns, language)]


def quantities_dropped(text: str, units: set[str], language: str) -> str:
    """The text (numbers as digits) without its quantities in these units, with the words
    that bound them ("more than"): "I've worked here three years and..." -> "I've worked
    here and..." when a follow-up gives a new number of years."""
    text = _digits(text, language)
    patterns = [*(ENGLISH_RANGES if language == "english" else []), BETWEEN, AND_UP]
    phrases = _quantity_phrases(text, patterns, language)
    spans = [span for span, given in phrases if given.unit in units]
    for start, end in sorted(spans, reverse=True):
        # ...and the preposition that leads it: "for three years", "after 35 hours".
        before = re.search(r"\b(?:for|after|of|in|with|within|at|by)\s+$", text[:start], re.I)
        text = text[: before.start() if before else start] + text[end:]
    return " ".join(re.sub(r"\s+([,.?!])", r"\1", text).split())


def rows_in_range(rows_cells: list[list[str]], question: str, language: str) -> list[int] | None:
    """Of a table's rows (each its cells' values), the indices of those whose range meets
    what a quantity of the question allows, when at least two rows give ranges in the
    question's unit and not all of them meet it; None when the question's quantities do not
    choose among them."""
    asked = asked_ranges(question, language)
    if not asked:
        return None
    ranges = [[r for value in cells if (r := cell_range(value, language))] for cells in rows_cells]
    units = {r.unit for r in asked}
    ranged = [i for i, found in enumerate(ranges) if any(r.unit in units for r in found)]
    holding = [i for i in ranged if any(r.overlaps(a) for r in ranges[i] for a in asked)]
    if len(ranged) < 2 or not holding or len(holding) == len(ranged):
        return None
    return holding
