"""Gemini on Vertex AI through langchain-google-genai, streamed with `astream`.

Credentials and endpoint: workspaces.embedding.google_cloud (the same for every Google
client of ours).
"""

import asyncio
import re
import weakref
from collections.abc import AsyncIterator, Sequence

from django.conf import settings
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_google_genai import ChatGoogleGenerativeAI

from assistant.llm.passage_units import markdown_tables
from assistant.llm.provider import Passage, Prepared, ProviderError, Turn, Usage, version_of
from assistant.models import RefusalReason
from workspaces.embedding.google_cloud import vertex_model_options

SYSTEM_PROMPT = """You answer questions for the people of an organization using only the \
numbered passages from its knowledge base given below.
- Answer only from the passages. If they do not contain the answer, say plainly that the \
knowledge base does not cover it, and do not guess.
- After each claim, cite the passage(s) it comes from as [n], e.g. [2] or [1][3].
- Be brief: a few sentences or a short list. Use Markdown only for lists and emphasis."""

CONDENSE_PROMPT = """Rewrite the follow-up question as one standalone question that can be \
understood without the conversation. Reply with the question only.

Conversation:
{history}

Follow-up question: {question}"""

# Phrases a model uses when it declines because the passages lack the answer.
DECLINED = re.compile(
    r"(does not|doesn't|do not|don't) (contain|cover|mention|include|say)|no information|"
    r"not (covered|mentioned|found)|cannot find|could not find|can't find",
    re.IGNORECASE,
)


# One client per event loop: its HTTP connections belong to the loop that opened them, and a
# management command (eval_answers) runs each answer in a loop of its own.
_models: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ChatGoogleGenerativeAI]" = (
    weakref.WeakKeyDictionary()
)


def chat_model() -> ChatGoogleGenerativeAI:
    """The chat model for the running event loop, made from the settings on first use."""
    loop = asyncio.get_running_loop()
    model = _models.get(loop)
    if model is None:
        model = _models[loop] = _chat_model_new()
    return model


def chat_models_forget() -> None:
    """Drop the clients, so the next answer reads the settings again (tests)."""
    _models.clear()


def _chat_model_new() -> ChatGoogleGenerativeAI:
    return ChatGoogleGenerativeAI(
        **vertex_model_options(settings.VERTEX_MODEL),
        temperature=settings.VERTEX_TEMPERATURE,
        max_output_tokens=settings.VERTEX_MAX_OUTPUT_TOKENS,
        # Gemini 2.5 thinks by default, which holds back the first token for seconds.
        thinking_budget=settings.VERTEX_THINKING_BUDGET,
        timeout=settings.VERTEX_TIMEOUT_SECONDS,
        max_retries=settings.VERTEX_MAX_RETRIES,
    )


def prompt_messages(question: str, passages: Sequence[Passage]) -> list[BaseMessage]:
    """`question` is the standalone one (the model's rewrite of a follow-up); table rows
    (`Header: value · ...`) are shown as Markdown tables."""
    numbered = "\n\n".join(
        f"[{p.number}] {p.chunk.document_title}"
        + (f" — {p.chunk.heading_path}" if p.chunk.heading_path else "")
        + (f" (page {p.chunk.page})" if p.chunk.page else "")
        + f"\n{markdown_tables(p.chunk.text)}"
        for p in passages
    )
    return [
        SystemMessage(SYSTEM_PROMPT),
        HumanMessage(f"Passages:\n\n{numbered or '(none)'}\n\nQuestion: {question}"),
    ]


def failure_reason(error: Exception) -> str:
    """A sentence for the user from whatever the client raised."""
    text = str(error)
    code = getattr(error, "code", None) or getattr(error, "status_code", None)
    match = re.search(r"\b(429|5\d\d|4\d\d)\b", text)
    status = int(code) if isinstance(code, int) else int(match.group(1)) if match else None
    if status == 429 or "RESOURCE_EXHAUSTED" in text:
        return "The language model is over its quota right now (HTTP 429). Try again shortly."
    if status is not None and status >= 500:
        return f"The language model service failed (HTTP {status}). Try again."
    if "timed out" in text.lower() or "timeout" in type(error).__name__.lower():
        return "The language model took too long to answer. Try again."
    if status is not None:
        return f"The language model refused the request (HTTP {status})."
    return "The language model could not be reached. Try again."


class VertexProvider:
    name = "vertex"

    def __init__(self) -> None:
        self.condense_usage: Usage | None = None

    @property
    def model(self) -> str:
        return str(settings.VERTEX_MODEL)

    @property
    def prompt_version(self) -> str:
        return version_of(
            SYSTEM_PROMPT, CONDENSE_PROMPT, settings.VERTEX_TEMPERATURE,
            settings.VERTEX_MAX_OUTPUT_TOKENS, settings.VERTEX_THINKING_BUDGET,
        )  # fmt: skip

    async def acondense(self, *, question: str, history: Sequence[Turn]) -> str:
        if not history:
            return question
        transcript = "\n".join(f"Q: {t.question}\nA: {t.answer}" for t in history[-3:])
        prompt = CONDENSE_PROMPT.format(history=transcript, question=question)
        try:
            reply = await chat_model().ainvoke([HumanMessage(prompt)])
        except Exception as error:
            raise ProviderError(failure_reason(error)) from error
        if reply.usage_metadata:
            self.condense_usage = Usage(
                model=str(reply.response_metadata.get("model_name") or self.model),
                input_tokens=reply.usage_metadata["input_tokens"],
                output_tokens=reply.usage_metadata["output_tokens"],
            )
        condensed = reply.text.strip() if isinstance(reply.text, str) else ""
        return condensed or question

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
        return Prepared(
            question=question,
            passages=passages,
            history=history,
            plan=prompt_messages(question, passages),
        )

    async def astream(self, prepared: Prepared) -> AsyncIterator[str | Usage]:
        assert isinstance(prepared.plan, list)
        usage = Usage(model=settings.VERTEX_MODEL)
        text = ""
        try:
            async for piece in chat_model().astream(prepared.plan):
                if piece.usage_metadata:
                    usage.input_tokens = piece.usage_metadata["input_tokens"]
                    usage.output_tokens = piece.usage_metadata["output_tokens"]
                if model := piece.response_metadata.get("model_name"):
                    usage.model = str(model)
                if isinstance(piece.content, str) and piece.content:
                    text += piece.content
                    yield piece.content
        except Exception as error:
            raise ProviderError(failure_reason(error)) from error
        usage.answered = not (DECLINED.search(text) and "[" not in text)
        usage.refusal = "" if usage.answered else RefusalReason.NOT_ANSWERED
        yield usage
