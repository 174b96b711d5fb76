"""An organization's site (<slug>.<BASE_DOMAIN>)."""

from django.urls import include, path

urlpatterns = [
    path("", include("workspaces.urls")),
    path("", include("members.urls")),
    path("accounts/", include("allauth.urls")),
    path("ask/", include("assistant.urls")),
    path("billing/", include("billing.urls")),
    path("audit/", include("audit.urls")),
    path("", include("api.urls")),  # the API keys page, and the REST API under /api/v1/
]

handler400 = "saas.errors.bad_request"
