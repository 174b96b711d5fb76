import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from localdev.vertex_server import VertexLocalServer


class Command(BaseCommand):
    help = (
        "Run the local Vertex-format server (localdev/vertex_server.py) until interrupted, "
        "to try the vertex provider offline: ASSISTANT_PROVIDER=vertex "
        "VERTEX_BASE_URL=http://127.0.0.1:PORT VERTEX_ACCESS_TOKEN=local VERTEX_PROJECT=local."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=12112)
        parser.add_argument("--first-token-delay-ms", type=int, default=300)
        parser.add_argument("--token-delay-ms", type=int, default=40)

    def handle(self, *args: Any, **options: Any) -> None:
        server = VertexLocalServer(port=options["port"]).start()
        server.first_token_delay = options["first_token_delay_ms"] / 1000
        server.token_delay = options["token_delay_ms"] / 1000
        self.stdout.write(f"Vertex-format server on {server.base_url} (Ctrl-C stops it)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            server.stop()
