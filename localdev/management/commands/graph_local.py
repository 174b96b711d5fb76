import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from localdev.graph_server import GraphLocal

SAMPLES = Path(settings.BASE_DIR) / "samples"


class Command(BaseCommand):
    help = (
        "Run the local Microsoft identity platform- and Graph-format server "
        "(localdev/graph_server.py, HTTPS with a certificate of its own written to --ca-out) "
        "until interrupted, with a OneDrive of the sample documents for --account and our "
        "multi-tenant app (--client-id, --client-secret, --redirect-uri): Workspace -> "
        'Sources -> "Connect SharePoint / OneDrive" consents on its page and syncs from it '
        "(MICROSOFT_LOGIN_URL, MICROSOFT_GRAPH_URL and MICROSOFT_CA_BUNDLE must point here)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=12411)
        parser.add_argument("--ca-out", required=True, help="Where to write its certificate.")
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", required=True)
        parser.add_argument("--redirect-uri", required=True)
        parser.add_argument("--account", default="owner@demo.example")

    def handle(self, *args: Any, **options: Any) -> None:
        graph = GraphLocal()
        graph.web_app([options["redirect_uri"]], options["client_id"], options["client_secret"])
        graph.person(options["account"])
        drive = graph.onedrive(options["account"])
        folder = graph.folder(drive, "Company handbook")
        for path in sorted(SAMPLES.iterdir()):
            if path.name != "README.md" and path.is_file():
                graph.add(drive, path.name, path.read_bytes(), parent=folder)
        graph.start(port=options["port"], ca_out=options["ca_out"])
        self.stdout.write(
            f"Local Graph-format server on {graph.url()}: {options['account']}'s OneDrive has "
            "the folder “Company handbook”",
            ending="\n",
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            graph.stop()
