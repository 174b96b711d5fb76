"""The words that frame a question rather than name what it asks about ("how *many*",
"how *long*", "what *kind* of"), drawn from data by `manage.py fit_frame_lexemes`: a word is
framing when the questions that use it seldom find it in the sentence that answers them.

The data is SQuAD v1.1 dev part 1's training articles (0-19), the only question-and-answer
pairs issue 23 allows to learn from besides handbook set A (too few questions to count
words over). They replace a list written by hand from set A's questions; docs/evaluation.md
has what that changed.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.llm.answer_parts import text_lexemes

# A word is counted only if at least this many questions use it: fewer is a name or a
# topic word of one article ("Saharan" in 5 questions), not a way of asking.
MIN_QUESTIONS = 10
# ... and framing when at most this share of those questions' answering units hold it (the
# median counted word is in 0.67 of them; "many" 0.06, "long" 0.05, "often" 0.18). Set A's
# answers are the same for any share from 0.10 to 0.20 (one answer gains a sentence at 0.25,
# 2026-12-07): the highest of those.
MAX_SHARE = 0.2


@dataclass(frozen=True)
class FrameFit:
    lexemes: list[str]
    # lexeme -> (questions using it, share whose answering sentence holds it), for the
    # report: every word counted, framing or not.
    counted: dict[str, tuple[int, float]]


def frame_lexemes_fit(
    pairs: Sequence[tuple[str, str]],
    *,
    language: str,
    min_questions: int = MIN_QUESTIONS,
    max_share: float = MAX_SHARE,
) -> FrameFit:
    """`pairs`: (question, the sentence or unit that answers it). A lexeme holding a digit
    is a figure, which is what a question asks about, never how it asks."""
    questions = text_lexemes([question for question, _ in pairs], language)
    answers = text_lexemes([answer for _, answer in pairs], language)
    asked: Counter[str] = Counter()
    found: Counter[str] = Counter()
    for question_lexemes, answer_lexemes in zip(questions, answers, strict=True):
        for lexeme in question_lexemes:
            asked[lexeme] += 1
            found[lexeme] += lexeme in answer_lexemes
    counted = {
        lexeme: (n, round(found[lexeme] / n, 3))
        for lexeme, n in sorted(asked.items())
        if n >= min_questions and not any(c.isdigit() for c in lexeme)
    }
    framing = sorted(lexeme for lexeme, (_, share) in counted.items() if share <= max_share)
    return FrameFit(framing, counted)
