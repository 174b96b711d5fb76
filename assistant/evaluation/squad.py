"""Reading a SQuAD-format file and scoring answers the way the official SQuAD v1.1 script
normalises text (lower case, no punctuation, no articles, single spaces)."""

import json
import math
import re
import string
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SquadQuestion:
    qid: str
    question: str
    answers: tuple[str, ...]
    paragraph: int  # index into SquadDataset.paragraphs


@dataclass(frozen=True)
class SquadDataset:
    paragraphs: list[tuple[str, str]]  # (article title, context)
    questions: list[SquadQuestion]


# SQuAD part 1's articles 0-19 train the answer model (assistant/answer_model/); 20-23 are
# its validation split, the only part of the file an evaluation may use since.
TRAIN_ARTICLES = slice(0, 20)
VALIDATION_ARTICLES = slice(20, 24)


def articles_slice(text: str) -> slice:
    """`20:24` -> slice(20, 24); `:20` and `20:` as in Python."""
    start, _, stop = text.partition(":")
    return slice(int(start) if start else None, int(stop) if stop else None)


def squad_load(
    path: Path, *, max_questions: int = 0, articles: slice = slice(None)
) -> SquadDataset:
    data = json.loads(path.read_text(encoding="utf-8"))
    paragraphs: list[tuple[str, str]] = []
    questions: list[SquadQuestion] = []
    for article in data["data"][articles]:
        for paragraph in article["paragraphs"]:
            index = len(paragraphs)
            paragraphs.append((article.get("title", "").replace("_", " "), paragraph["context"]))
            for qa in paragraph["qas"]:
                answers = tuple(a["text"] for a in qa.get("answers", []) if a.get("text"))
                if answers:  # SQuAD 2.0's unanswerable questions have none
                    questions.append(SquadQuestion(str(qa["id"]), qa["question"], answers, index))
    if max_questions and max_questions < len(questions):
        # Spread over the whole file rather than the first article's questions only.
        stride = math.ceil(len(questions) / max_questions)
        questions = questions[::stride][:max_questions]
    return SquadDataset(paragraphs, questions)


def squad_normalize(text: str) -> str:
    """The official script's normalize_answer."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def contains_answer(text: str, answers: tuple[str, ...]) -> bool:
    normalized = f" {squad_normalize(text)} "
    return any(f" {squad_normalize(answer)} " in normalized for answer in answers)
