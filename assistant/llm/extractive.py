"""The offline provider: no model writes anything. It says, with their markers, the units of
the retrieved passages (sentences, table rows with their headers, list items with their
lead-in, FAQ answers) that answer the question, grouped as a reader expects: rows of one
table under its caption, items of one list under their lead-in, a sentence completed across
a chunk boundary and read with the sentence its pronoun points back to.

Which units answer, and whether any does, is decided by one of two scorers
(ASSISTANT_EXTRACTIVE_SCORER): `rules` (assistant/llm/rules_plan.py, hand-weighted, the
default) or `model` (the answer model of assistant/answer_model/, a cross-encoder trained by
`manage.py train_answer_model` and calibrated: units at or above the refusal threshold its
training run chose answer). The learned scorer does not yet answer documents nobody tuned
for as well as the rules do (assistant/answer_model/MODEL_CARD.md), so it is not the default.

Whichever scores: a question nothing answers gets the plain refusal, or, when it is written
in another language than the workspace's, a sentence saying offline answers need the
workspace's language; two documents giving different figures for the same thing are both
given and said to differ; "Summarise X" answers with the opening sentence of each of X's
sections, and "what does X say about Y" answers from X only.
"""

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from django.conf import settings

from assistant.answer_model.inputs import unit_input
from assistant.answer_model.scorer import answer_probabilities, answer_scorer, refusal_threshold
from assistant.llm.answer_parts import (
    Part,
    antecedent,
    caption_of,
    key_of,
    parts_unrepeated,
    sentence_completed,
    text_lexemes,
)
from assistant.llm.followups import is_elliptical, question_focus, standalone_question
from assistant.llm.languages import LANGUAGE_CODES
from assistant.llm.passage_units import Unit, passage_units
from assistant.llm.provider import NOT_FOUND, Passage, Prepared, Turn, Usage, version_of
from assistant.llm.rules_plan import rules_plan
from assistant.llm.scope import answered_elsewhere
from assistant.models import RefusalReason
from workspaces.selectors import document_section_openings

# Raise when the way units are picked changes: answers cached before are not reused.
EXTRACTIVE_VERSION = 3

FIGURE = re.compile(r"[£€$]?\d+(?:[.,:]\d+)*%?")
WORD = re.compile(r"[^\W\d_][\w'’-]*")
# "Summarise the safety manual", "give me an overview of X", "a summary of X, please".
SUMMARY = re.compile(
    r"^\s*(?:(?:please|can you|could you)\s+)?(?:summari[sz]e|sum up|"
    r"(?:give (?:me )?)?(?:a |an )?(?:summary|overview) of)\s+(?P<subject>.+?)"
    r"(?:,?\s+(?:please|for me))?\s*[?.!]*\s*$",
    re.IGNORECASE,
)
# "What does the travel policy say about taxis?": the answer comes from that document.
SAYS_ABOUT = re.compile(
    r"^\s*what does (?P<subject>.+?) say (?:about|on) (?P<topic>.+?)\s*[?.!]*\s*$", re.IGNORECASE
)
OTHER_LANGUAGE = (
    "Offline answers need the question in the workspace's language ({language}), and this "
    "one seems to be in {asked}. Ask it in {language}, or ask your admin about answers by "
    "Vertex AI, which read and answer in any language."
)
LANGUAGE_NAMES = {code: name.capitalize() for name, code in LANGUAGE_CODES.items()}
DIFFER = "The documents differ on this:"


@dataclass(frozen=True)
class Plan:
    answered: bool
    parts: tuple[Part, ...]
    # Said instead of NOT_FOUND when the plan does not answer, and why it does not.
    refusal: str = NOT_FOUND
    reason: str = RefusalReason.NOT_ANSWERED
    # Said before the parts (two documents that disagree).
    preface: str = ""
    # Passages a summary cites beyond the retrieved ones.
    extra_passages: tuple[Passage, ...] = ()


@dataclass(frozen=True)
class Scored:
    """Every answerable unit of the passages with the model's probability that it answers."""

    units: dict[int, list[Unit]]  # passage number -> all its units, labels too
    candidates: list[Unit]
    probability: np.ndarray
    passages: dict[int, Passage]


def condense_by_history(question: str, history: Sequence[Turn]) -> str:
    """Without a model, an elliptical follow-up is rewritten from the previous question's
    frame ("and in Vienna?" after "When does the museum open in Madrid?")."""
    return standalone_question(question, [turn.question for turn in history])


def units_score(*, question: str, passages: Sequence[Passage], language: str) -> Scored:
    units = {
        p.number: passage_units(
            p.chunk.text, passage=p.number, language=language, heading=p.chunk.heading_path
        )
        for p in passages
    }
    by_number = {p.number: p for p in passages}
    candidates = [u for p in passages for u in units[p.number] if u.answerable]
    texts = [
        unit_input(u, heading_path=by_number[u.passage].chunk.heading_path) for u in candidates
    ]
    scorer = answer_scorer()
    # The model's time grows with the tokens it reads: the units of the best-ranked passages
    # are read first, until the budget is spent.
    kept = scorer.within_budget(question, texts, settings.ASSISTANT_EXTRACTIVE_TOKEN_BUDGET)
    candidates, texts = candidates[:kept], texts[:kept]
    probability = answer_probabilities(question, texts)
    return Scored(units, candidates, probability, by_number)


def _block_key(unit: Unit) -> tuple[int, int, int]:
    """Units said together: a table's rows, a list's lead-in and items; else the unit."""
    if unit.kind in ("row", "item", "lead") and unit.block >= 0:
        return (unit.passage, unit.block, -1)
    return (unit.passage, -1, unit.position)


def _plain(text: str) -> str:
    return " ".join(text.lower().split())


def _passing(scored: Scored, threshold: float, already_said: Sequence[str]) -> list[int]:
    """Units at or above the threshold, best first. What the conversation already said is
    not said again when anything else passes, so a follow-up answers with what is new."""
    said = _plain(" ".join(already_said))
    order = [int(i) for i in np.argsort(-scored.probability, kind="stable")]
    passing = [i for i in order if scored.probability[i] >= threshold]
    fresh = [i for i in passing if not (said and _plain(scored.candidates[i].text) in said)]
    return fresh or passing


def _rows_text(rows: list[Unit]) -> str:
    caption = caption_of(rows[0].context)
    lines = [u.text for u in rows]
    if caption and not any(caption in line for line in lines):
        if len(lines) == 1:
            return f"{caption}: {lines[0]}"
        return caption + ":\n" + "\n".join(f"- {line}" for line in lines)
    return lines[0] if len(lines) == 1 else "\n".join(f"- {line}" for line in lines)


def _list_text(members: list[Unit], units: list[Unit]) -> tuple[list[Unit], str]:
    """A list's lead-in and its chosen items. The whole list when its lead-in answers, or
    more than one of its items do: the question is about what the list enumerates."""
    block = members[0].block
    whole = [u for u in units if u.block == block and u.kind in ("lead", "item")]
    lead = next((u for u in whole if u.kind == "lead"), None)
    items = [u for u in members if u.kind == "item"]
    if (lead is not None and lead in members) or len(items) != 1:
        items = [u for u in whole if u.kind == "item"]
    said = ([lead] if lead is not None else []) + sorted(items, key=lambda u: u.position)
    lead_text = lead.text if lead is not None else caption_of(members[0].context)
    lead_text += ":" if lead_text and lead is None else ""
    lines = [f"- {u.text}" for u in said if u.kind == "item"]
    return said, "\n".join(([lead_text] if lead_text else []) + lines)


def _parts(scored: Scored, chosen: list[int], language: str) -> list[Part]:
    groups: dict[tuple[int, int, int], list[Unit]] = {}
    for index in chosen:
        unit = scored.candidates[index]
        groups.setdefault(_block_key(unit), []).append(unit)
    parts: list[Part] = []
    used: set[tuple[int, int]] = set()
    for members in groups.values():
        if all(key_of(u) in used for u in members):
            continue  # said already, as the sentence a pronoun of another points back to
        anchor = members[0]
        units = scored.units[anchor.passage]
        if anchor.kind == "row":
            said = sorted(members, key=lambda u: u.position)
            text = _rows_text(said)
        elif anchor.kind in ("item", "lead"):
            said, text = _list_text(members, units)
        else:
            said = [anchor]
            text = sentence_completed(anchor, scored.passages[anchor.passage], units, language)
            before = antecedent(anchor, units)
            if before is not None and key_of(before) not in used:
                said, text = [before, anchor], f"{before.text} {text}"
        if any(_plain(text) == _plain(part.text) for part in parts):
            continue
        used.update(key_of(u) for u in said)
        parts.append(Part(anchor.passage, said[0].position, text, tuple(u.text for u in said)))
    return parts_unrepeated(parts)


def _differ(first: Part, second: Part, passages: dict[int, Passage]) -> bool:
    """Two parts from different documents that say the same thing with other figures: every
    word of the shorter is in the longer, and their figures are not the same."""
    if passages[first.passage].chunk.document_id == passages[second.passage].chunk.document_id:
        return False
    figures = [set(FIGURE.findall(p.text)) for p in (first, second)]
    if not (figures[0] - figures[1] and figures[1] - figures[0]):
        return False
    words = sorted(({w.lower() for w in WORD.findall(p.text)} for p in (first, second)), key=len)
    return bool(words[0]) and words[0] <= words[1]


def _counterpart(
    first: Part, passages: Sequence[Passage], passages_of: dict[int, Passage], language: str
) -> Part | None:
    """A unit of another retrieved document that says what the answer's first part says
    with other figures (an older version of the same FAQ), if there is one."""
    for passage in passages:
        for unit in passage_units(
            passage.chunk.text,
            passage=passage.number,
            language=language,
            heading=passage.chunk.heading_path,
        ):
            if not unit.answerable:
                continue
            candidate = Part(passage.number, unit.position, unit.text, (unit.text,))
            if _differ(first, candidate, {**passages_of, passage.number: passage}):
                return candidate
    return None


@lru_cache(maxsize=1)
def _language_identifier() -> Any:
    from py3langid.langid import (  # type: ignore[import-untyped]
        MODEL_DIR,
        MODEL_FILE,
        LanguageIdentifier,
    )

    identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
    identifier.set_languages(sorted(LANGUAGE_CODES.values()))
    return identifier


def other_language(question: str, language: str) -> str | None:
    """The language the question is more likely than not written in, when that is another
    than the workspace's; None when it is the same or cannot be told."""
    expected = LANGUAGE_CODES.get(language)
    if expected is None:  # "simple": a workspace of mixed languages
        return None
    code, probability = _language_identifier().classify(question)
    return code if code != expected and probability > 0.5 else None


def _refused(question: str, language: str) -> Plan:
    asked = other_language(question, language)
    if asked is None:
        return Plan(False, ())
    sentence = OTHER_LANGUAGE.format(
        language=LANGUAGE_NAMES[LANGUAGE_CODES[language]], asked=LANGUAGE_NAMES[asked]
    )
    return Plan(False, (), refusal=sentence, reason=RefusalReason.OTHER_LANGUAGE)


def answer_plan(
    *,
    question: str,
    passages: Sequence[Passage],
    language: str,
    workspace_ids: Sequence[int],
    question_vector: Sequence[float] | None = None,
    already_said: Sequence[str] = (),
    previous_question: str = "",
    elliptical: bool = False,
) -> Plan:
    """Choose what the answer says (sync: for a sentence cut by a chunk boundary, or a
    summary, it reads more of the document). What the conversation's earlier answers
    already said comes after what they did not. `workspace_ids`: the workspaces searched,
    whose term statistics weigh the question's words."""
    if not passages:
        return _refused(question, language)
    summary = SUMMARY.match(question)
    if summary:
        plan = _summary_plan(summary.group("subject"), passages, language)
        if plan is not None:
            return plan
    every = passages
    says = SAYS_ABOUT.match(question)
    named = _named_document(says.group("subject"), passages, language) if says else None
    if named is not None:
        # Only that document's passages answer; if none does, its outline is the answer.
        passages = [p for p in passages if p.chunk.document_id == named.chunk.document_id]
    if settings.ASSISTANT_EXTRACTIVE_SCORER == "model":
        parts, passages_of = _model_parts(question, passages, language, already_said)
    else:
        found = rules_plan(
            question=question,
            passages=passages,
            language=language,
            workspace_ids=workspace_ids,
            question_vector=question_vector,
            already_said=already_said,
            previous_question=previous_question,
            elliptical=elliptical,
        )
        parts, passages_of = list(found or ()), {p.number: p for p in passages}
    if not parts and says is not None:
        plan = _summary_plan(says.group("subject"), every, language)
        if plan is not None:
            return plan
    if not parts:
        return _refused(question, language)
    if settings.ASSISTANT_EXTRACTIVE_SCOPE_CHECK:
        elsewhere = answered_elsewhere(
            question=question,
            parts=parts,
            passages=passages_of,
            language=language,
            workspace_ids=workspace_ids,
        )
        if elsewhere is not None:
            return Plan(False, (), refusal=elsewhere)
    counterpart = _counterpart(parts[0], passages, passages_of, language)
    if counterpart is not None:
        return Plan(True, (parts[0], counterpart), preface=DIFFER)
    rank_of = {passage.number: rank for rank, passage in enumerate(passages)}
    # Read in passage order, then in the passage's own order, like a short paragraph.
    parts.sort(key=lambda part: (rank_of[part.passage], part.position))
    return Plan(True, tuple(parts))


def _model_parts(
    question: str, passages: Sequence[Passage], language: str, already_said: Sequence[str]
) -> tuple[list[Part], dict[int, Passage]]:
    """The parts the answer model's passing units make, best first."""
    scored = units_score(question=question, passages=passages, language=language)
    passing = _passing(scored, refusal_threshold(), already_said)
    chosen: list[int] = []
    blocks: list[tuple[int, int, int]] = []
    for index in passing:
        block = _block_key(scored.candidates[index])
        if block not in blocks:
            if len(blocks) == settings.ASSISTANT_EXTRACTIVE_MAX_SENTENCES:
                continue
            blocks.append(block)
        chosen.append(index)
    return _parts(scored, chosen, language), scored.passages


def _named_document(subject: str, passages: Sequence[Passage], language: str) -> Passage | None:
    """A retrieved passage of the one document whose title holds most of the words the
    question names it by ("the safety manual"); None when no title does, or when two
    documents' titles do equally well ("the policy" of two policies)."""
    asked, *titles = text_lexemes([subject, *(p.chunk.document_title for p in passages)], language)
    shared = [len(asked & title) for title in titles]
    best = max(shared, default=0)
    if not asked or 2 * best <= len(asked):
        return None
    documents = {p.chunk.document_id for p, n in zip(passages, shared, strict=True) if n == best}
    if len(documents) > 1:
        return None
    return next(p for p, n in zip(passages, shared, strict=True) if n == best)


def _summary_plan(subject: str, passages: Sequence[Passage], language: str) -> Plan | None:
    """The opening sentence of each section of the document the question names."""
    best = _named_document(subject, passages, language)
    if best is None:
        return None
    openings = document_section_openings(
        document_id=best.chunk.document_id,
        workspace_id=best.chunk.workspace_id,
        limit=settings.ASSISTANT_EXTRACTIVE_SUMMARY_SECTIONS,
    )
    numbers = {p.chunk.chunk_id: p.number for p in passages}
    # Passages beyond the retrieved ones are numbered after the last of them.
    last = max(p.number for p in passages)
    extra: list[Passage] = []
    parts: list[Part] = []
    for chunk in openings:
        units = passage_units(chunk.text, passage=0, language=language, heading=chunk.heading_path)
        first = next((u for u in units if u.kind == "sentence"), None)
        if first is None:
            continue
        number = numbers.get(chunk.chunk_id)
        if number is None:
            number = last + len(extra) + 1
            extra.append(Passage(number, chunk))
        parts.append(Part(number, first.position, first.text, (first.text,)))
    if not parts:
        return None
    title = best.chunk.document_title
    return Plan(
        True, tuple(parts), preface=f"{title}, section by section:", extra_passages=tuple(extra)
    )


class ExtractiveProvider:
    name = "extractive"
    model = "extractive"
    # Runs no generative model: condensing a follow-up costs nothing.
    condense_usage: Usage | None = None

    @property
    def prompt_version(self) -> str:
        from assistant.answer_model.scorer import answer_model_card

        return version_of(
            EXTRACTIVE_VERSION,
            answer_model_card()["recipe"],
            refusal_threshold(),
            *(
                getattr(settings, name)
                for name in sorted(dir(settings))
                if name.startswith("ASSISTANT_EXTRACTIVE_") and not name.endswith("_DELAY_MS")
            ),
        )

    async def acondense(self, *, question: str, history: Sequence[Turn]) -> str:
        return condense_by_history(question, history)

    def prepare(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn],
        language: str,
        workspace_ids: Sequence[int],
        question_vector: Sequence[float] | None = None,
        original: str = "",
    ) -> Prepared:
        plan = answer_plan(
            question=question_focus(question),
            passages=passages,
            language=language,
            workspace_ids=workspace_ids,
            question_vector=question_vector,
            already_said=[turn.answer for turn in history],
            previous_question=history[-1].question if history else "",
            elliptical=bool(history) and is_elliptical(original or question),
        )
        every = [*passages, *plan.extra_passages]
        return Prepared(question=question, passages=every, history=history, plan=plan)

    async def astream(self, prepared: Prepared) -> AsyncIterator[str | Usage]:
        plan = prepared.plan
        assert isinstance(plan, Plan)
        if not plan.answered:
            yield plan.refusal
            yield Usage(model="extractive", answered=False, refusal=plan.reason)
            return
        quotes: dict[int, list[str]] = {}
        delay = settings.ASSISTANT_EXTRACTIVE_STREAM_DELAY_MS / 1000
        if plan.preface:
            yield plan.preface + "\n\n"
        for index, part in enumerate(plan.parts):
            quotes.setdefault(part.passage, []).extend(part.quotes)
            multiline = "\n" in part.text
            if index:
                # A list or rows start on their own line, and so does each part of a
                # summary or of documents that differ; sentences run on.
                apart = multiline or "\n" in plan.parts[index - 1].text or plan.preface
                yield "\n\n" if apart else " "
            # A few words at a time, at reading pace: the answer is there at once, but a
            # screen that fills in steps reads as an answer being given.
            for line_number, line in enumerate(part.text.split("\n")):
                if line_number:
                    yield "\n"
                words = line.split(" ")
                for start in range(0, len(words), 6):
                    tail = " " if start + 6 < len(words) else ""
                    yield " ".join(words[start : start + 6]) + tail
                    if delay:
                        await asyncio.sleep(delay)
            yield f" [{part.passage}]"
        yield Usage(model="extractive", quotes=quotes)
