import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")

application = get_asgi_application()

from assistant.embeddings import embeddings_preload  # noqa: E402  (needs the app registry)

embeddings_preload()
