import json
import mimetypes
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from localdev.drive_server import DriveLocal

SAMPLES = Path(settings.BASE_DIR) / "samples"


class Command(BaseCommand):
    help = (
        "Run the local Google Drive-format server (localdev/drive_server.py) until "
        "interrupted, with a folder of the sample documents shared with the demo "
        "organization's domain, and write a service account key it accepts: Workspace -> "
        "Sources -> Add a Google Drive folder then syncs from it (GOOGLE_DRIVE_API_URL and "
        'GOOGLE_DRIVE_TOKEN_URI must point here); with --client-id, "Connect Google Drive" '
        "consents on its page as --account."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=12311)
        parser.add_argument("--key-out", required=True, help="Where to write the key (JSON).")
        parser.add_argument(
            "--domain", default="demo.example", help="The domain the files are shared with."
        )
        parser.add_argument("--client-id", default="", help="Our OAuth client's id (consent).")
        parser.add_argument("--client-secret", default="", help="Its secret.")
        parser.add_argument("--redirect-uri", default="", help="Its authorized redirect URI.")
        parser.add_argument(
            "--account", default="owner@demo.example", help="Who clicks Allow on the consent."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        drive = DriveLocal()
        key = drive.service_account()
        folder = drive.folder("Company handbook")
        for path in sorted(SAMPLES.iterdir()):
            if path.name == "README.md":
                continue
            mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            file = drive.add(
                path.name, path.read_bytes(), mime_type=mime_type, parents=(folder.id,)
            )
            drive.share(file.id, "domain", options["domain"])
        Path(options["key_out"]).write_text(json.dumps(key, indent=2))
        if options["client_id"]:
            drive.oauth_client(
                [options["redirect_uri"]], options["client_id"], options["client_secret"]
            )
            drive.consent_account = options["account"]
        drive.start(port=options["port"])
        self.stdout.write(
            f"Local Drive-format server on {drive.url()}: folder ID {folder.id}, "
            f"service account key {options['key_out']}",
            ending="\n",
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            drive.stop()
