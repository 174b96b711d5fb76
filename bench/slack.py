"""The Slack app's speed against the local Slack-format server, beside the web's first token.

    .venv/bin/python bench/slack.py [--questions 40]

Builds a throwaway database (`bench_slack`) with the demo organization (the twelve sample
documents), installs the Slack app in it through the real OAuth v2 exchange against
localdev/slack_server.py, and runs uvicorn (the public events URL) and one Celery worker
(prefork, one process) as `make dev` does. Each question is a direct message to the app,
sent as Slack sends it (a signed Events API callback over HTTP); then, one at a time:

- acknowledgement: from sending the event to uvicorn's response (Slack allows 3 s);
- "Thinking…": to the app's chat.postMessage reaching the Slack-format server;
- first words: to the first chat.update that carries answer text;
- beside them, the web's first token for the same questions in the same run: the answer
  stream a browser opens on the Ask page (bench/answer.py's measure), same server.

Extractive provider, answer cache off (the questions repeat). The last line is JSON.
"""

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.answer import DEMO_QUESTIONS, build, questions_store, sequential, summary  # noqa: E402
from bench.fairness import workers_start, workers_stop  # noqa: E402
from bench.signup import percentile, use_bench_database  # noqa: E402
from localdev.slack_server import Posted, SlackLocal  # noqa: E402

SIGNING_SECRET = "bench-signing-secret"  # noqa: S105  (the local server's, throwaway)
CLIENT_ID, CLIENT_SECRET = "1111.2222", "bench-client-secret"
QUEUE = f"bench-slack-{os.getpid()}"


def install(slack: SlackLocal, port: int) -> None:
    """The app added to "demo" through oauth.v2.access on the Slack-format server, by the
    owner (whose address is marked verified: Slack users are matched by verified email)."""
    from allauth.account.models import EmailAddress
    from django_tenants.utils import tenant_context

    from accounts.models import User
    from billing.models import Plan
    from billing.services import INTERNAL_PLAN_SLUG
    from integrations.services import slack_install_complete
    from tenants.models import Organization
    from workspaces.models import Workspace

    # One asker sends every question: the plan's per-person rate limit must not refuse them.
    Plan.objects.filter(slug=INTERNAL_PLAN_SLUG).update(asks_per_minute=100_000)
    code = "bench-code"
    slack.codes[code] = (slack.team_id, slack.team_name)
    with tenant_context(Organization.objects.get(slug="demo")):
        owner = User.objects.get(email="owner@demo.example")
        EmailAddress.objects.filter(user=owner).update(verified=True)
        slack_install_complete(
            actor=owner,
            code=code,
            redirect_uri=f"http://localhost:{port}/slack/oauth/callback/",
            workspace_ids=list(Workspace.objects.values_list("id", flat=True)),
            site_root=f"http://demo.localhost:{port}",
        )


def slack_round(slack: SlackLocal, user: str, question: str, channel: str) -> dict[str, float]:
    """One direct message, timed (seconds) until the first words are in Slack."""
    started = time.monotonic()
    said = slack.say(
        team_id=slack.team_id, channel=channel, user=user, text=question, channel_type="im"
    )
    (_, delivery), *_ = said.sent
    assert delivery.status == 200, delivery.body

    def first_words() -> Posted | None:
        refused = [e["text"] for e in slack.ephemeral if e["channel"] == channel]
        if refused:
            raise AssertionError(f"refused: {refused[0]}")
        for message in slack.messages_in(channel, said.ts):
            if message.edits:
                return message
        return None

    message = slack.wait_for(first_words, timeout=60)
    return {
        "ack": delivery.seconds * 1000,
        "thinking": (message.posted_at - started) * 1000,
        "first_words": (message.edits[0][0] - started) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=40)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    use_bench_database("bench_slack")
    from tests.live import free_port, uvicorn_running

    port = free_port()
    slack = SlackLocal(
        signing_secret=SIGNING_SECRET, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        request_url=f"http://localhost:{port}/slack/events/",
    ).start()  # fmt: skip
    # Read by this process's settings, the server's and the worker's alike.
    os.environ.update(
        SLACK_OAUTH_CLIENT_ID=CLIENT_ID, SLACK_OAUTH_CLIENT_SECRET=CLIENT_SECRET,
        SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_BASE_URL=slack.api_url,
        CELERY_TASK_DEFAULT_QUEUE=QUEUE, ANSWER_CACHE_SECONDS="0",
    )  # fmt: skip
    import django

    django.setup()
    sessions = build(target_chunks=0)  # "big" is left empty: only "demo" is asked
    install(slack, port)
    user = slack.user_add("owner@demo.example")
    questions = (DEMO_QUESTIONS * (args.questions // len(DEMO_QUESTIONS) + 1))[: args.questions]
    loads = [os.getloadavg()[0]]
    workers = workers_start([(QUEUE, 1)])
    try:
        with uvicorn_running(port, DJANGO_SETTINGS_MODULE="saas.settings.dev",
                             DATABASE_URL=os.environ["DATABASE_URL"]):  # fmt: skip
            base = f"http://127.0.0.1:{port}"
            for number, question in enumerate(questions[:3]):  # warm-up: model loads
                slack_round(slack, user, question, f"D0WARM{number:04d}")
            rounds = []
            for number, question in enumerate(questions):
                rounds.append(slack_round(slack, user, question, f"D0BENCH{number:04d}"))
                loads.append(os.getloadavg()[0])
            ids = questions_store("demo", questions[:3] + questions)
            asyncio.run(sequential(base, sessions["demo"], ids[:3]))
            web_first, _ = asyncio.run(sequential(base, sessions["demo"], ids[3:]))
            loads.append(os.getloadavg()[0])
    finally:
        workers_stop(workers)
        slack.stop()

    figures: dict[str, float] = {}
    print(f"\nSlack, {len(questions)} direct messages one at a time (extractive provider)")
    for name in ("ack", "thinking", "first_words"):
        values = [r[name] for r in rounds]
        print(f"  {name:12s} " + summary("", values))
        figures[f"{name}_p50_ms"] = round(statistics.median(values), 1)
        figures[f"{name}_p95_ms"] = round(percentile(values, 0.95), 1)
    print("  web ask      " + summary("first token", web_first))
    figures["web_first_token_p50_ms"] = round(statistics.median(web_first), 1)
    figures["web_first_token_p95_ms"] = round(percentile(web_first, 0.95), 1)
    figures["load_min"], figures["load_max"] = round(min(loads), 2), round(max(loads), 2)
    print(f"  load average (1 min) during the run: {min(loads):.2f}-{max(loads):.2f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
