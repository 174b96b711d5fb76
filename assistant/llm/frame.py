"""The words that frame a question rather than name what it is about, per text-search
language, as `manage.py fit_frame_lexemes` drew them from SQuAD part 1's training articles
(assistant/evaluation/frame_fit.py): what an answer adds is weighed without them. A language
the file does not cover has none."""

import json
from functools import lru_cache
from pathlib import Path

FRAME_FILE = Path(__file__).with_name("frame_lexemes.json")

# PostgreSQL's English parser splits a contraction and keeps its second half as a word
# ("I've" -> "ve", "won't" -> "won" and "t"): grammar, never what is asked about.
CONTRACTION_ENDINGS = {"english": frozenset({"s", "t", "ve", "m", "ll", "re", "d"})}


@lru_cache(maxsize=8)
def frame_lexemes(language: str) -> frozenset[str]:
    found = json.loads(FRAME_FILE.read_text(encoding="utf-8"))
    return frozenset(found.get(language, ())) | CONTRACTION_ENDINGS.get(language, frozenset())
