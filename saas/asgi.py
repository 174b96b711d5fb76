import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")

django_application = get_asgi_application()

from django.conf import settings  # noqa: E402

from saas.request_limits import RequestBodyLimit  # noqa: E402
from workspaces.embedding.model import embeddings_preload  # noqa: E402  (needs the app registry)

application = RequestBodyLimit(
    django_application,
    max_bytes=settings.MAX_REQUEST_BYTES,
    per_file_bytes=settings.MAX_UPLOAD_BYTES,
)

if settings.EMBEDDINGS_PRELOAD:
    embeddings_preload()
