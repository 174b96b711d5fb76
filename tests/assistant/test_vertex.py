"""The Vertex AI provider through the real client (langchain-google-genai, google-genai)
against a local server speaking Vertex's REST streaming format."""

import itertools

import pytest

from assistant.models import MessageStatus
from localdev.vertex_server import VertexLocalServer
from tests.assistant.conftest import Handbook, ask


def test_tokens_arrive_in_order_and_usage_is_recorded(
    handbook: Handbook, committed: None, vertex: VertexLocalServer
):
    answer, partials = ask(
        handbook.organization, handbook.owner, "How many vacation days do employees get?"
    )

    assert answer.status == MessageStatus.DONE
    assert len(partials) > 2
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(partials))
    assert answer.text.startswith("According to the knowledge base,")
    assert answer.provider == "vertex"
    assert answer.model == "gemini-2.5-flash"
    request = vertex.requests[-1]
    assert request["path"].endswith(
        "/projects/test-project/locations/us-central1/publishers/google/models/"
        "gemini-2.5-flash:streamGenerateContent?alt=sse"
    )
    assert request["headers"]["Authorization"] == "Bearer test-token"
    assert request["body"]["generationConfig"]["thinkingConfig"] == {"thinking_budget": 0}
    prompt = request["body"]["contents"][0]["parts"][0]["text"]
    system = request["body"]["systemInstruction"]["parts"][0]["text"]
    assert answer.input_tokens == len(prompt.split()) + len(system.split())
    assert answer.output_tokens == len(answer.text.split())
    [first] = answer.citations.all()
    assert first.marker == 1
    assert first.quote in first.passage_text


def test_a_follow_up_is_rewritten_by_the_model_and_that_question_is_searched_and_stored(
    handbook: Handbook, committed: None, vertex: VertexLocalServer
):
    first, _ = ask(handbook.organization, handbook.owner, "How many vacation days do I get?")
    follow_up, _ = ask(
        handbook.organization, handbook.owner, "and part-timers?", conversation=first.conversation
    )

    assert follow_up.status == MessageStatus.DONE
    standalone = "and part-timers (asked after: How many vacation days do I get?)"
    assert follow_up.search_query == standalone
    condense, answer = vertex.requests[-2:]
    assert "Follow-up question: and part-timers?" in _prompt(condense)
    # The answer is asked with the standalone question, not the elliptical one.
    assert standalone in _prompt(answer)


def _prompt(request: dict) -> str:
    return "\n".join(
        part["text"] for content in request["body"]["contents"] for part in content["parts"]
    )


def test_the_prompt_numbers_the_passages_and_asks_for_citations(
    handbook: Handbook, committed: None, vertex: VertexLocalServer
):
    ask(handbook.organization, handbook.owner, "What is the gift limit?")

    body = vertex.requests[-1]["body"]
    system = body["systemInstruction"]["parts"][0]["text"]
    prompt = body["contents"][0]["parts"][0]["text"]
    assert "only" in system and "[n]" in system and "do not guess" in system
    assert "[1] " in prompt and "[2] " in prompt
    assert "Question: What is the gift limit?" in prompt


@pytest.mark.parametrize(
    ("status", "reason"), [(429, "over its quota"), (500, "service failed (HTTP 500)")]
)
def test_http_error_from_the_model_fails_the_message_with_a_reason(
    handbook: Handbook, committed: None, vertex: VertexLocalServer, status: int, reason: str
):
    vertex.fail_status = status

    answer, _ = ask(handbook.organization, handbook.owner, "How long is parental leave?")

    assert answer.status == MessageStatus.FAILED
    assert reason in answer.failure_reason
    assert not answer.citations.all()


def test_markers_that_point_to_no_passage_are_dropped():
    from assistant.answering import citations_renumber

    text, cited = citations_renumber("Yes [3]. Also [9] and [3][1].", [1, 2, 3])

    assert text == "Yes [1]. Also and [1][2]."
    assert cited == [3, 1]
