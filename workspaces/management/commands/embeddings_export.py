from typing import Any

from django.core.management.base import BaseCommand

from workspaces.embedding.export import onnx_model_path


class Command(BaseCommand):
    help = "Export the bundled embedding model to ONNX (int8) unless it is there already."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(str(onnx_model_path()))
