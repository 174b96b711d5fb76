"""A local server that speaks the parts of Slack this product uses, so the Slack app runs
offline: in the tests, the benchmark and development, with the real slack-sdk and slack-bolt
pointed at it (SLACK_API_BASE_URL, SLACK_AUTHORIZE_URL).

Web API (form-encoded or JSON requests, `{"ok": ...}` JSON responses, Slack's error names),
under /api/: oauth.v2.access (client id and secret by HTTP Basic auth, as slack-sdk sends
them), auth.test, auth.revoke, users.info (the profile's email, as with users:read.email),
chat.postMessage, chat.update, chat.postEphemeral. A bot token unknown or revoked is
`invalid_auth`. `rate_limit(method, retry_after)` answers the next call of `method` with 429
and `Retry-After`, as Slack does.

The approval page (GET /oauth/v2/authorize) approves at once for `team` and sends the browser
back to the redirect URI with a one-time code. Slash commands' response URLs are
/respond/<id>.

What Slack sends the app, signed as Slack signs it (`X-Slack-Signature: v0=<HMAC-SHA256 hex
of "v0:<timestamp>:<body>" under the signing secret>`, `X-Slack-Request-Timestamp`): Events
API callbacks (a person's message gives `message` and, when it mentions the bot,
`app_mention`), retries of a delivery (`X-Slack-Retry-Num`, the same body), slash commands
(form-encoded), interactivity (`payload=<json>`), `app_uninstalled` and `tokens_revoked`.
Deliveries go to `request_url` over HTTP, or to `sender(body, headers) -> (status, body)`
(tests deliver through Django's test client). State lives in memory.
"""

import base64
import hashlib
import hmac
import html
import itertools
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

Sender = Callable[[bytes, dict[str, str]], tuple[int, bytes]]


def slack_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """Slack's request signature: v0= and the HMAC-SHA256 of v0:<timestamp>:<body>."""
    signed = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


@dataclass
class Posted:
    """A message the app posted (and its edits, each with the time it arrived)."""

    channel: str
    ts: str
    text: str
    thread_ts: str | None
    blocks: list[dict[str, Any]] = field(default_factory=list)
    posted_at: float = field(default_factory=time.monotonic)
    edits: list[tuple[float, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Delivery:
    status: int
    body: bytes
    seconds: float  # from sending to the app's response (Slack allows 3)


@dataclass(frozen=True)
class Said:
    ts: str
    sent: list[tuple[bytes, Delivery]]


class SlackLocal:
    """The server's state and behaviour; `start()` serves it on a thread."""

    def __init__(
        self,
        *,
        signing_secret: str,
        client_id: str,
        client_secret: str,
        request_url: str = "",
        sender: Sender | None = None,
        team_id: str = "T0LOCAL01",
        team_name: str = "Local Slack",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.signing_secret = signing_secret
        self.client_id, self.client_secret = client_id, client_secret
        self.request_url, self.sender = request_url, sender
        # The team whose admin approves the next install on the authorize page.
        self.team_id, self.team_name = team_id, team_name
        self.bot_user_id, self.bot_id = "U0BOT00001", "B0BOT00001"
        self.users: dict[str, str] = {}  # Slack user id -> email
        self.codes: dict[str, tuple[str, str]] = {}  # code -> (team id, team name)
        self.tokens: dict[str, str] = {}  # bot token -> team id (valid ones)
        self.posted: list[Posted] = []
        self.ephemeral: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []  # to response URLs
        self.calls: list[tuple[float, str]] = []  # (time, Web API method)
        self.rate_limits: dict[str, list[int]] = {}
        self.outside: set[str] = set()  # channels the app was not added to
        self.lock = threading.RLock()
        self._ts = itertools.count(1)
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.server.daemon_threads = True

    # -- running -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/oauth/v2/authorize"

    def start(self) -> "SlackLocal":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- people and messages ----------------------------------------------------------------

    def user_add(self, email: str) -> str:
        """A person of the Slack team with a verified `email`; returns their user id."""
        with self.lock:
            user_id = f"U{len(self.users) + 1:08d}"
            self.users[user_id] = email
        return user_id

    def new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def messages_in(self, channel: str, thread_ts: str | None = None) -> list[Posted]:
        with self.lock:
            return [
                m
                for m in self.posted
                if m.channel == channel and (thread_ts is None or m.thread_ts == thread_ts)
            ]

    def rate_limit(self, method: str, retry_after: int = 1) -> None:
        """The next call of `method` is answered 429 with this Retry-After."""
        with self.lock:
            self.rate_limits.setdefault(method, []).append(retry_after)

    def wait_for(self, condition: Callable[[], Any], timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = condition()
            if found:
                return found
            time.sleep(0.02)
        raise AssertionError("the Slack-format server did not see it in time")

    # -- what Slack sends the app -------------------------------------------------------------

    def deliver(
        self,
        body: bytes,
        *,
        content_type: str,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> Delivery:
        """POST `body` to the app, signed (with `secret`: wrongly, for the tests)."""
        timestamp = int(time.time()) if timestamp is None else timestamp
        signed = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": slack_signature(
                secret=self.signing_secret if secret is None else secret,
                timestamp=timestamp,
                body=body,
            ),
            **(headers or {}),
        }
        started = time.monotonic()
        if self.sender is not None:
            status, answer = self.sender(body, signed)
        else:
            request = urllib.request.Request(self.request_url, data=body, headers=signed)  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    status, answer = response.status, response.read()
            except urllib.error.HTTPError as error:
                status, answer = error.code, error.read()
        return Delivery(status=status, body=answer, seconds=time.monotonic() - started)

    def event_body(self, team_id: str, event: dict[str, Any]) -> bytes:
        envelope = {
            "token": "legacy-verification-token",
            "team_id": team_id,
            "api_app_id": "A0LOCAL001",
            "event": {"event_ts": event.get("ts") or self.new_ts(), **event},
            "type": "event_callback",
            "event_id": f"Ev{secrets.token_hex(5).upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team_id, "user_id": self.bot_user_id, "is_bot": True}],
        }
        return json.dumps(envelope).encode()

    def event_send(
        self, body: bytes, *, retry_num: int = 0, retry_reason: str = "http_timeout"
    ) -> Delivery:
        headers = (
            {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
            if retry_num
            else {}
        )
        return self.deliver(body, content_type="application/json", headers=headers)

    def say(
        self,
        *,
        team_id: str,
        channel: str,
        user: str,
        text: str,
        thread_ts: str | None = None,
        channel_type: str = "channel",
    ) -> "Said":
        """A person posts a message: Slack sends `message` (message.channels, .groups,
        .im) and, for a mention of the bot outside a direct message, `app_mention`.
        Returns its ts and each event's body and delivery (a body can be sent again: a
        retry)."""
        ts = self.new_ts()
        message: dict[str, Any] = {"user": user, "text": text, "ts": ts, "channel": channel}
        if thread_ts:
            message["thread_ts"] = thread_ts
        bodies = [
            self.event_body(team_id, {"type": "message", "channel_type": channel_type, **message})
        ]
        if f"<@{self.bot_user_id}>" in text and channel_type != "im":
            bodies.insert(0, self.event_body(team_id, {"type": "app_mention", **message}))
        return Said(ts=ts, sent=[(body, self.event_send(body)) for body in bodies])

    def slash_command(
        self, *, team_id: str, channel: str, user: str, text: str, command: str = "/ask"
    ) -> Delivery:
        response_id = secrets.token_hex(6)
        form = {
            "token": "legacy-verification-token",
            "team_id": team_id,
            "team_domain": "local",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0LOCAL001",
            "is_enterprise_install": "false",
            "response_url": f"{self.url}/respond/{response_id}",
            "trigger_id": f"{int(time.time())}.{secrets.token_hex(6)}",
        }
        return self.deliver(
            urlencode(form).encode(), content_type="application/x-www-form-urlencoded"
        )

    def click(
        self, *, team_id: str, user: str, message: Posted, action_id: str, value: str
    ) -> Delivery:
        """A person presses a button of a message the app posted (block_actions)."""
        payload = {
            "type": "block_actions",
            "user": {"id": user, "team_id": team_id},
            "api_app_id": "A0LOCAL001",
            "token": "legacy-verification-token",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
            },
            "trigger_id": f"{int(time.time())}.{secrets.token_hex(6)}",
            "team": {"id": team_id, "domain": "local"},
            "channel": {"id": message.channel, "name": "general"},
            "message": {"ts": message.ts, "thread_ts": message.thread_ts, "text": message.text},
            "response_url": f"{self.url}/respond/{secrets.token_hex(6)}",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": f"feedback-{value}",
                    "value": value,
                    "action_ts": self.new_ts(),
                }
            ],
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.deliver(body, content_type="application/x-www-form-urlencoded")

    def uninstall(self, *, team_id: str) -> Delivery:
        """The app removed in Slack: its tokens stop working and app_uninstalled is sent."""
        with self.lock:
            self.tokens = {t: team for t, team in self.tokens.items() if team != team_id}
        return self.event_send(self.event_body(team_id, {"type": "app_uninstalled"}))

    # -- a page to play a Slack user in development (`make dev`) ------------------------------

    def user_for(self, email: str) -> str:
        with self.lock:
            for user_id, known in self.users.items():
                if known.lower() == email.lower():
                    return user_id
        return self.user_add(email)

    def page_say(self, form: dict[str, str]) -> None:
        """The page's form: a message as the person with that email, in #general (with a
        mention of the app), in a direct message, or in a thread of either."""
        user = self.user_for(form.get("email", "").strip())
        text, thread_ts = form.get("text", "").strip(), form.get("thread_ts") or None
        if form.get("where") == "dm":
            self.say(team_id=self.team_id, channel="D0DEVELOP1", user=user, text=text,
                     thread_ts=thread_ts, channel_type="im")  # fmt: skip
        elif form.get("where") == "command":
            self.slash_command(team_id=self.team_id, channel="C0GENERAL1", user=user, text=text)
        else:
            mention = "" if thread_ts else f"<@{self.bot_user_id}> "
            self.say(team_id=self.team_id, channel="C0GENERAL1", user=user,
                     text=mention + text, thread_ts=thread_ts)  # fmt: skip

    def page(self) -> str:
        """What the app posted, newest first, with what only its asker saw."""
        with self.lock:
            posted = list(reversed(self.posted))
            private = [*self.ephemeral, *self.responses][::-1]
        items = "".join(
            f"<li><b>{html.escape(m.channel)}</b> ts {html.escape(m.ts)}"
            f"{' in thread ' + html.escape(m.thread_ts) if m.thread_ts else ''}"
            f"<pre>{html.escape(_shown(m))}</pre></li>"
            for m in posted
        )
        notes = "".join(f"<li><pre>{html.escape(str(n.get('text')))}</pre></li>" for n in private)
        return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Local Slack</title></head><body>
<h1>Local Slack ({html.escape(self.team_name)})</h1>
<p>Post as a person of this Slack team. The app answers a member of the organization that
installed it (Members → Integrations) whose address here is verified there.</p>
<form method="post" action="/say">
<label>Email <input name="email" type="email" required></label>
<label>Where <select name="where"><option value="channel">#general (mentions the app)</option>
<option value="dm">Direct message</option><option value="command">/ask in #general</option>
</select></label>
<label>In the thread (ts, optional) <input name="thread_ts"></label>
<label>Message <input name="text" required size="60"></label>
<button>Send</button></form>
<h2>The app's messages</h2><ul>{items}</ul>
<h2>Seen only by the asker</h2><ul>{notes}</ul></body></html>"""

    # -- the Web API ---------------------------------------------------------------------------

    def api(self, method: str, params: dict[str, Any], headers: Any) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.calls.append((time.monotonic(), method))
            if self.rate_limits.get(method):
                return 429, {
                    "ok": False,
                    "error": "ratelimited",
                    "_retry_after": self.rate_limits[method].pop(0),
                }
            if method == "oauth.v2.access":
                return 200, self._oauth_access(params, headers)
            token = (headers.get("Authorization") or "").removeprefix("Bearer ") or params.get(
                "token", ""
            )
            team_id = self.tokens.get(token)
            if team_id is None:
                return 200, {"ok": False, "error": "invalid_auth"}
            handler = getattr(self, "_" + method.replace(".", "_"), None)
            if handler is None:
                return 200, {"ok": False, "error": "unknown_method"}
            return 200, handler(params, token=token, team_id=team_id)

    def _oauth_access(self, params: dict[str, Any], headers: Any) -> dict[str, Any]:
        basic = (headers.get("Authorization") or "").removeprefix("Basic ")
        client_id, _, client_secret = base64.b64decode(basic or b"").decode().partition(":")
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return {"ok": False, "error": "invalid_client_id"}
        team = self.codes.pop(str(params.get("code")), None)
        if team is None:
            return {"ok": False, "error": "invalid_code"}
        token = f"xoxb-{secrets.token_hex(12)}"
        self.tokens[token] = team[0]
        return {
            "ok": True,
            "app_id": "A0LOCAL001",
            "access_token": token,
            "token_type": "bot",
            "scope": "app_mentions:read,chat:write,commands,im:history,users:read,users:read.email",
            "bot_user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "team": {"id": team[0], "name": team[1]},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": "U0ADMIN001"},
        }

    def _auth_test(self, params: dict[str, Any], *, token: str, team_id: str) -> dict[str, Any]:
        return {"ok": True, "team_id": team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id}

    def _auth_revoke(self, params: dict[str, Any], *, token: str, team_id: str) -> dict[str, Any]:
        self.tokens.pop(token, None)
        return {"ok": True, "revoked": True}

    def _users_info(self, params: dict[str, Any], *, token: str, team_id: str) -> dict[str, Any]:
        user_id = str(params.get("user"))
        if user_id not in self.users:
            return {"ok": False, "error": "user_not_found"}
        profile = {"email": self.users[user_id], "real_name": self.users[user_id]}
        return {"ok": True, "user": {"id": user_id, "team_id": team_id, "profile": profile}}

    def _chat_postMessage(
        self, params: dict[str, Any], *, token: str, team_id: str
    ) -> dict[str, Any]:
        if params.get("channel") in self.outside:
            return {"ok": False, "error": "not_in_channel"}
        message = Posted(
            channel=str(params["channel"]),
            ts=self.new_ts(),
            text=str(params.get("text") or ""),
            thread_ts=params.get("thread_ts") or None,
            blocks=_blocks(params.get("blocks")),
        )
        self.posted.append(message)
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    def _chat_update(self, params: dict[str, Any], *, token: str, team_id: str) -> dict[str, Any]:
        for message in self.posted:
            if message.channel == params.get("channel") and message.ts == params.get("ts"):
                message.text = str(params.get("text") or "")
                message.blocks = _blocks(params.get("blocks"))
                message.edits.append((time.monotonic(), message.text))
                return {"ok": True, "channel": message.channel, "ts": message.ts}
        return {"ok": False, "error": "message_not_found"}

    def _chat_postEphemeral(
        self, params: dict[str, Any], *, token: str, team_id: str
    ) -> dict[str, Any]:
        self.ephemeral.append({**params, "at": time.monotonic()})
        return {"ok": True, "message_ts": self.new_ts()}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        local = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                retry_after = payload.pop("_retry_after", None)
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                if retry_after is not None:
                    self.send_header("Retry-After", str(retry_after))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/":
                    body = local.page().encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if url.path != "/oauth/v2/authorize":
                    self._reply(404, {"ok": False, "error": "not_found"})
                    return
                query = dict(parse_qsl(url.query))
                if query.get("client_id") != local.client_id:
                    self._reply(400, {"ok": False, "error": "invalid_client_id"})
                    return
                code = secrets.token_hex(10)
                with local.lock:
                    local.codes[code] = (local.team_id, local.team_name)
                back = (
                    query["redirect_uri"]
                    + "?"
                    + urlencode({"code": code, "state": query.get("state", "")})
                )
                self.send_response(302)
                self.send_header("Location", back)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                url = urlsplit(self.path)
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(raw or "{}")
                else:
                    params = dict(parse_qsl(raw, keep_blank_values=True))
                if url.path == "/say":
                    local.page_say(params)
                    self.send_response(303)
                    self.send_header("Location", "/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if url.path.startswith("/respond/"):
                    with local.lock:
                        local.responses.append({**params, "at": time.monotonic()})
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                    return
                if not url.path.startswith("/api/"):
                    self._reply(404, {"ok": False, "error": "not_found"})
                    return
                status, payload = local.api(url.path.removeprefix("/api/"), params, self.headers)
                self._reply(status, payload)

        return Handler


def _shown(message: Posted) -> str:
    """A message as Slack would show it: its blocks' text, else its text."""
    texts = [
        str(block.get("text", {}).get("text", ""))
        if block["type"] == "section"
        else " ".join(_element_text(e) for e in block.get("elements", []))
        for block in message.blocks
    ]
    return "\n".join(t for t in texts if t) or message.text


def _element_text(element: dict[str, Any]) -> str:
    text = element.get("text", "")
    return str(text.get("text", "")) if isinstance(text, dict) else str(text)


def _blocks(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return list(json.loads(value or "[]"))
    return list(value or [])
