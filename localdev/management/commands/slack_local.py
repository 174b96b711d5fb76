import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from localdev.slack_server import SlackLocal


class Command(BaseCommand):
    help = (
        "Run the local Slack-format server (localdev/slack_server.py) until interrupted: the "
        "Web API and OAuth page the Slack app calls, and a page at / to post as a Slack user."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=12211)
        parser.add_argument(
            "--request-url",
            default=f"http://{settings.BASE_DOMAIN}:8000/slack/events/",
            help="The app's events URL, where signed events, commands and actions go.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        server = SlackLocal(
            signing_secret=settings.SLACK_SIGNING_SECRET,
            client_id=settings.SLACK_OAUTH_CLIENT_ID,
            client_secret=settings.SLACK_OAUTH_CLIENT_SECRET,
            request_url=options["request_url"],
            port=options["port"],
        ).start()
        self.stdout.write(f"Local Slack-format server on {server.url}", ending="\n")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            server.stop()
