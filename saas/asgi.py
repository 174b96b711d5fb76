import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")

application = get_asgi_application()

from django.conf import settings  # noqa: E402

from workspaces.embeddings import embeddings_preload  # noqa: E402  (needs the app registry)

if settings.EMBEDDINGS_PRELOAD:
    embeddings_preload()
