"""Rewriting an elliptical follow-up into a standalone question without a model, by rules
over the previous question's frame: the follow-up names a new value for one slot of the
previous question ("and in Vienna?", "what about Oslo?", "and for apprentices?",
"and a grade B?"), which replaces the value that slot had. What cannot be read as a slot (a
condition: "and once I've worked 40 hours?") is added to the previous question.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.llm.ranges import asked_ranges, quantities_dropped

# What opens an elliptical follow-up, longest first; what follows it is the new value.
OPENERS = re.compile(
    r"^(?:and|or|but|also|so|then)?\s*(?:what|how)\s+about\s+|"
    r"^(?:and\s+)?(?:is|are|was|would|does)\s+(?:it|that|this|they)\s+(?:the\s+)?same\s+"
    r"(?:for|in|at|with)?\s*|"
    r"^(?:and\s+)?(?:the\s+)?same\s+(?:for|in|at)?\s*|"
    r"^(?:and|or|but|also)\s+(?:if\s+(?:i|we)\s+(?:were|was|am|are|work|worked)\s+)?",
    re.IGNORECASE,
)
CONDITION_WORD = r"(?:once|if|when|after|before|while|during|until|unless)\b"
# A condition added to the question rather than a value replacing one.
CONDITION = re.compile(r"^" + CONDITION_WORD, re.IGNORECASE)
# The condition a question ends with: "... when they first start?".
LAST_CONDITION = re.compile(r"\b" + CONDITION_WORD + r"[^,;.?!]*(?=\?*\s*$)", re.IGNORECASE)
SELF = {"i", "i'm", "i've", "i'd", "i'll"}
AUXILIARIES = {
    "can", "could", "do", "does", "did", "is", "are", "was", "were", "will", "would",
    "should", "must", "may", "has", "have", "need", "needs",
}  # fmt: skip
PREPOSITIONS = {"for", "in", "at", "on", "with", "to", "from", "of", "by", "during"}
DETERMINERS = {"a", "an", "the", "my", "our", "your"}
CONJUNCTIONS = {"and", "or", "but", "nor"}
WH = re.compile(
    r"^(?:how\s+(?:many|much|long|often|far|soon|quickly)|what|which|who|when|where)\b",
    re.IGNORECASE,
)
REFERRING = re.compile(r"\b(there|it|they|them|that|this|those|these)\b", re.IGNORECASE)
TOKEN = re.compile(r"[\w'’£€$%.,-]+|[^\w\s]")
# A value that names something: capitalised (not the question's first word) or a code.
NAMED = re.compile(r"^(?:[A-Z][\w'’-]*|\w*\d\w*)$")


# What a question sets aside ("Besides holiday and sick leave, what other leave...?"): the
# things it names there are what it is not about, so they are not searched for.
SET_ASIDE_FIRST = re.compile(
    r"^\s*(?:besides|apart from|aside from|other than|except for|except|in addition to)"
    r"\s+.{1,200}?,\s*(?P<rest>(?:what|which|who|whom|how|where|when|why|can|could|do|does"
    r"|did|is|are|am|should|may|might|will|would|must|have|has|i|we)\b.*)$",
    re.IGNORECASE,
)
SET_ASIDE_LAST = re.compile(
    r"^(?P<rest>.*\S)\s*,?\s+(?:besides|apart from|aside from|other than|except for|except)"
    r"\s+[^,?]{1,200}(?P<end>\?*)\s*$",
    re.IGNORECASE,
)


def question_focus(question: str) -> str:
    """The question without what it sets aside: what retrieval and the extractive
    provider look for."""
    first = SET_ASIDE_FIRST.match(question)
    if first:
        rest = first.group("rest")
        return rest[0].upper() + rest[1:]
    last = SET_ASIDE_LAST.match(question)
    if last and len(last.group("rest").split()) >= 3:
        return last.group("rest") + (last.group("end") or "")
    return question


def is_elliptical(question: str) -> bool:
    words = question.split()
    if OPENERS.match(question.strip()):
        return len(words) <= 12
    # "Tuesday?", "the secondary one?"; not "Who approves expenses?"
    return len(words) <= 3 and not WH.match(question.strip())


@dataclass(frozen=True)
class Slot:
    """A phrase of a question that names something: "in the Vienna studio"."""

    start: int  # the lead word (preposition or determiner), or the name
    name_start: int
    name_end: int
    end: int  # after the common noun that follows the name ("office"), if any
    lead: str


def _slot_phrases(question: str) -> list[Slot]:
    tokens = list(TOKEN.finditer(question))
    words = [t.group(0).strip(".,") for t in tokens]
    found: list[Slot] = []
    index = 0
    while index < len(tokens):
        # Capitalised after a sentence's end is the next sentence's first word, not a name.
        opens = index == 0 or tokens[index - 1].group(0).endswith((".", "!", "?"))
        named = NAMED.match(words[index]) and not opens and words[index].lower() not in SELF
        if not named:
            index += 1
            continue
        start, lead = index, ""
        # The determiner and preposition before it: "in the Vienna studio".
        while start > 0 and words[start - 1].lower() in DETERMINERS | PREPOSITIONS:
            start -= 1
            lead = words[start].lower() if not lead or lead in DETERMINERS else lead
        end = index
        while end + 1 < len(tokens) and NAMED.match(words[end + 1]):
            end += 1
        name_end = end
        common = PREPOSITIONS | DETERMINERS | AUXILIARIES | CONJUNCTIONS
        if end + 1 < len(tokens) and re.match(r"^[a-z]+$", words[end + 1]):
            end += words[end + 1] not in common
        found.append(
            Slot(
                tokens[start].start(),
                tokens[index].start(),
                tokens[name_end].start() + len(words[name_end]),
                tokens[end].start() + len(words[end]),
                lead,
            )
        )
        index = end + 1
    return found


def _lead_of(phrase: str) -> str:
    first = phrase.split()[0].lower() if phrase.split() else ""
    return first if first in PREPOSITIONS | DETERMINERS else ""


def _prepositional_phrase(question: str, preposition: str) -> tuple[int, int] | None:
    """The last "<preposition> ..." phrase of the question, to the end of its clause."""
    matches = list(re.finditer(rf"\b{preposition}\s+[^?.,;!]+", question, re.IGNORECASE))
    if not matches:
        return None
    return matches[-1].start(), matches[-1].end()


def standalone_question(question: str, history: Sequence[str]) -> str:
    """The follow-up as a question that stands alone, from the earlier questions (each
    already standalone), most recent last. A question that is not elliptical is returned
    as it is."""
    question = " ".join(question.split())
    if not history or not question:
        return question
    previous = history[-1]
    if REFERRING.search(question) and not is_elliptical(question):
        return _resolve_reference(question, previous)
    if not is_elliptical(question):
        return question
    value = OPENERS.sub("", question.strip(), count=1).strip().rstrip("?").strip()
    value = WH.sub("", value).strip()  # "and how many in Oslo?": the frame is the same
    if not value:
        return previous
    if value.split()[0].lower() in AUXILIARIES:
        # "and can I carry them over?": a question of its own about the same thing.
        asked = value[0].upper() + value[1:] + "?"
        return _resolve_reference(asked, previous) if REFERRING.search(asked) else asked
    if CONDITION.match(value):
        # A condition replaces the previous question's last one ("...when they first
        # start?" then "and after a year?"), else it is added.
        last = LAST_CONDITION.search(previous)
        if last:
            return previous[: last.start()] + value + previous[last.end() :]
        return _appended(previous, value)
    # A value that names its place after a verb ("based at the Bergen depot", "working
    # in Rome") is that place: "at the Bergen depot". One that opens with its own lead
    # word ("on the night rota at Rome") is kept whole.
    own = _slot_phrases(value)
    if own and own[0].start > 0 and own[0].lead and not _lead_of(value):
        value = value[own[0].start :]
    lead = _lead_of(value)
    slots = _slot_phrases(previous)
    if not any(NAMED.match(w) for w in value.split()) and lead not in PREPOSITIONS:
        # A value that names nothing ("nights", "the night shift") takes the place of a name
        # only as its like: "a manager" for "a B2", not "nights" for "at the Oslo depot".
        slots = [s for s in slots if lead in DETERMINERS and s.lead in DETERMINERS]
    # The slot whose lead word matches the value's ("in Madrid" for "in the Vienna
    # studio"); then a named slot of the same shape ("grade A" for "a grade B"); then any.
    same_lead = [s for s in slots if lead and s.lead == lead]
    if lead in DETERMINERS:
        same_lead = same_lead or [s for s in slots if s.lead in DETERMINERS]
    value_words = [w for w in value.split() if w.lower() not in PREPOSITIONS | DETERMINERS]
    shaped = [
        s
        for s in slots
        if value_words and _same_shape(previous[s.name_start : s.name_end], value_words)
    ]
    # Of those alike, the one of the same kind as the value: "the Bergen nurses" for
    # "Oslo nurses", not for "on a Sunday".
    lowered = {w.lower() for w in value_words}
    same_kind = [s for s in shaped if _kind(previous, s) in lowered]
    shaped = same_kind or shaped
    if lead:
        # The value brings its own lead word: it replaces the whole phrase.
        fitting = same_lead or shaped or slots
        if fitting:
            chosen = fitting[-1]
            # "a grade B" for "a grade A audit" keeps "audit"; "in the Vienna studio"
            # replaces "in Madrid" whole, and so does a value that names the kind itself.
            keeps_kind = lead in DETERMINERS and chosen not in same_kind
            end = chosen.name_end if keeps_kind else chosen.end
            return previous[: chosen.start] + value + previous[end:]
        if lead in PREPOSITIONS:
            span = _prepositional_phrase(previous, lead)
            if span is not None:
                return previous[: span[0]] + value + previous[span[1] :]
        return _appended(previous, value)
    # A bare name ("Aurora", "B7") replaces the name only: "the Aurora music room".
    fitting = shaped or slots
    if not fitting:
        return _appended(previous, value)
    chosen = fitting[-1]
    return previous[: chosen.name_start] + value + previous[chosen.name_end :]


def _appended(previous: str, value: str) -> str:
    """The previous question with what the follow-up adds; a quantity the follow-up gives
    ("someone who's been here more than five years") takes the place of the previous
    question's in the same unit ("I've worked here three years")."""
    units = {given.unit for given in asked_ranges(value, "english")}
    if units:
        previous = quantities_dropped(previous, units, "english")
    return f"{previous.rstrip(' ?.')}, {value}?"


def _kind(question: str, slot: Slot) -> str:
    """The common noun after a slot's name ("nurses" in "Oslo nurses"), or ""."""
    return question[slot.name_end : slot.end].strip().lower()


def _same_shape(slot: str, value_words: list[str]) -> bool:
    """Both codes of letters and digits alike ("B7", "C12"), or both capitalised."""
    slot_words = [w for w in slot.split() if w.lower() not in PREPOSITIONS | DETERMINERS]
    if not slot_words:
        return False
    code = re.compile(r"^([A-Za-z]+)\d+$")
    a, b = code.match(slot_words[0]), code.match(value_words[0])
    if a and b:
        return a.group(1).lower() == b.group(1).lower()
    return slot_words[0][:1].isupper() and value_words[0][:1].isupper()


def _topic(previous: str) -> str:
    """What a question asks about, roughly: its words after the question word and before
    the verb ("vacation days" in "How many vacation days do I get?")."""
    rest = WH.sub("", previous.strip(), count=1).strip(" ?")
    rest = re.sub(r"^(?:'s|is|are)\s+", "", rest)
    words = []
    for word in rest.split():
        if word.lower() in AUXILIARIES or word.lower() in SELF | {"we", "you", "they"}:
            break
        words.append(word)
    return " ".join(words)


def _resolve_reference(question: str, previous: str) -> str:
    """ "When does it open there?" after "I'm visiting the Vienna museum.":
    the place or thing the previous turn named stands in for the pronoun."""
    match = REFERRING.search(question)
    if match is None:
        return question
    slots = _slot_phrases(previous)
    pronoun = match.group(1).lower()
    if slots:
        slot = slots[-1]
        phrase = previous[slot.start : slot.end]
        if pronoun == "there":
            # "there" is a place: "in" it, whatever the previous turn's preposition was.
            if slot.lead in PREPOSITIONS:
                phrase = phrase.split(" ", 1)[1]
            phrase = f"in {phrase}"
        elif pronoun != "there" and slot.lead in PREPOSITIONS:
            phrase = previous[slot.name_start : slot.end]
    else:
        phrase = _topic(previous)
        if not phrase:
            return f"{question.rstrip(' ?')} ({previous.rstrip(' ?.')})?"
    return question[: match.start()] + phrase + question[match.end() :]
