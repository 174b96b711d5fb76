"""A local HTTP server that speaks the part of Vertex AI's REST API the assistant uses:
`POST /v1beta1/projects/<p>/locations/<l>/publishers/google/models/<m>:streamGenerateContent
?alt=sse` (server-sent events of GenerateContentResponse JSON), `:generateContent`, and
`:predict` for text embedding models (instances of `content`, `parameters.
outputDimensionality`; predictions of `embeddings.values`); and the ranking API,
`POST /v1/projects/<p>/locations/<l>/rankingConfigs/<c>:rank`, scoring each record by the
share of the query's words it holds (`rank_delay`, `fail_status` apply).

It answers from the prompt it is sent: the first sentence of passage [1], cited, or a plain
"not covered" when there are no passages. Tests, the benchmark and offline development
point the real client at it (VERTEX_BASE_URL, VERTEX_ACCESS_TOKEN). `first_token_delay`,
`token_delay` and `fail_status` make it slow or failing on purpose; `fail_next` fails the
next requests with the statuses listed, one each.
"""

import hashlib
import json
import math
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = re.compile(
    r"^/v1beta1/projects/[^/]+/locations/[^/]+/publishers/google/models/([^/:]+):(\w+)"
)
RANK_PATH = re.compile(r"^/v1/projects/[^/]+/locations/[^/]+/rankingConfigs/[^/:]+:rank$")
WORD = re.compile(r"\w+")
PASSAGE_ONE = re.compile(
    r"^\[1\][^\n]*\n(.+?)(?:\n\n\[\d+\]|\n\nQuestion:)", re.DOTALL | re.MULTILINE
)


class VertexLocalServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.first_token_delay = 0.0
        self.token_delay = 0.0
        self.rank_delay = 0.0
        self.fail_status: int | None = None
        self.fail_next: list[int] = []
        self.requests: list[dict[str, Any]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def start(self) -> "VertexLocalServer":
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def answer_for(prompt: str) -> str:
    if "Follow-up question:" in prompt:
        # A standalone question as a model would write it: the follow-up with the topic of
        # the previous question, which a retrieval can use.
        conversation, follow_up = prompt.rsplit("Follow-up question:", 1)
        asked = re.findall(r"^Q: (.+)$", conversation, re.MULTILINE)
        follow_up = follow_up.strip()
        return f"{follow_up.rstrip('?')} (asked after: {asked[-1]})" if asked else follow_up
    match = PASSAGE_ONE.search(prompt)
    if not match:
        return "The knowledge base does not cover this."
    first = re.split(r"(?<=[.!?])\s", " ".join(match.group(1).split()), maxsplit=1)[0]
    return f"According to the knowledge base, {first} [1]"


def rank_records(body: dict[str, Any]) -> list[dict[str, Any]]:
    """RankResponse records, best first: score = the share of the query's distinct words
    that the record's title and content hold (ties keep the order they were sent in)."""
    query = {word.lower() for word in WORD.findall(body.get("query", ""))}
    scored = []
    for record in body.get("records", []):
        words = {w.lower() for w in WORD.findall(f"{record.get('title', '')} {record['content']}")}
        score = len(query & words) / len(query) if query else 0.0
        entry = {"id": record["id"], "score": round(score, 4)}
        if not body.get("ignoreRecordDetailsInResponse"):
            entry |= {"title": record.get("title", ""), "content": record["content"]}
        scored.append(entry)
    scored.sort(key=lambda entry: -entry["score"])
    return scored[: body["topN"]] if body.get("topN") else scored


class _Handler(BaseHTTPRequestHandler):
    server: VertexLocalServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        match = PATH.match(self.path)
        self.server.requests.append(
            {"path": self.path, "body": body, "headers": dict(self.headers)}
        )
        if RANK_PATH.match(self.path.split("?")[0]):
            self._rank(body)
            return
        if not match or not self.headers.get("Authorization", "").startswith("Bearer "):
            self._error(404 if not match else 401, "NOT_FOUND" if not match else "UNAUTHENTICATED")
            return
        model, method = match.groups()
        time.sleep(self.server.first_token_delay)
        if self.server.fail_status or self.server.fail_next:
            status = self.server.fail_status or self.server.fail_next.pop(0)
            self._error(status, "RESOURCE_EXHAUSTED" if status == 429 else "INTERNAL")
            return
        if method == "predict":
            self._json(200, _predictions(body))
            return
        prompt = "\n".join(
            part.get("text", "")
            for content in body.get("contents", [])
            for part in content["parts"]
        )
        words = answer_for(prompt).split(" ")
        pieces = [
            " ".join(words[i : i + 3]) + (" " if i + 3 < len(words) else "")
            for i in range(0, len(words), 3)
        ]
        # Vertex bills the system instruction as prompt tokens too; a word stands in for a
        # token here. The shape is Vertex's: totals, per-modality details, traffic type.
        system = " ".join(
            part.get("text", "") for part in body.get("systemInstruction", {}).get("parts", [])
        )
        prompt_tokens = len(prompt.split()) + len(system.split())
        usage: dict[str, Any] = {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": len(words),
            "totalTokenCount": prompt_tokens + len(words),
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
            "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": len(words)}],
            "trafficType": "ON_DEMAND",
        }
        if method == "generateContent":
            self._json(200, _response("".join(pieces), model, usage, final=True))
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for index, piece in enumerate(pieces):
            if index:
                time.sleep(self.server.token_delay)
            final = index == len(pieces) - 1
            event = f"data: {json.dumps(_response(piece, model, usage, final=final))}\r\n\r\n"
            self._chunk(event.encode())
        self._chunk(b"")

    def _rank(self, body: dict[str, Any]) -> None:
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            self._error(401, "UNAUTHENTICATED")
            return
        time.sleep(self.server.rank_delay)
        if self.server.fail_status:
            self._error(self.server.fail_status, "INTERNAL")
            return
        self._json(200, {"records": rank_records(body)})

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, reason: str) -> None:
        self._json(status, {"error": {"code": status, "message": reason, "status": reason}})


def _response(text: str, model: str, usage: dict[str, Any], *, final: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}}
    payload: dict[str, Any] = {"candidates": [candidate], "modelVersion": model}
    if final:
        candidate["finishReason"] = "STOP"
        payload["usageMetadata"] = usage
    return payload


def embedding_for(text: str, dimensions: int) -> list[float]:
    """A unit vector that depends only on the text: bag of hashed words, so texts sharing
    words are near one another, as a real model's would be."""
    vector = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        vector[int.from_bytes(digest[:4], "big") % dimensions] += 1.0 if digest[4] % 2 else -1.0
    norm = math.sqrt(sum(value * value for value in vector)) or 1.0
    return [value / norm for value in vector]


def _predictions(body: dict[str, Any]) -> dict[str, Any]:
    dimensions = int(body.get("parameters", {}).get("outputDimensionality") or 768)
    predictions = []
    for instance in body.get("instances", []):
        text = instance.get("content", "")
        predictions.append(
            {
                "embeddings": {
                    "values": embedding_for(text, dimensions),
                    "statistics": {"token_count": len(text.split()), "truncated": False},
                }
            }
        )
    return {"predictions": predictions, "metadata": {"billableCharacterCount": 0}}
