"""An organization's site (<slug>.<BASE_DOMAIN>)."""

from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    # Pages without our layout's <link rel="icon"> (the Django admin's, the API docs, an
    # error page) make the browser ask for /favicon.ico: no 404 in their console.
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
    path("", include("workspaces.urls")),
    path("", include("members.urls")),
    path("", include("lifecycle.urls")),  # Members -> Data: retention, export, deletion
    path("accounts/", include("allauth.urls")),
    path("ask/", include("assistant.urls")),
    path("billing/", include("billing.urls")),
    path("audit/", include("audit.urls")),
    path("", include("integrations.urls")),  # Members -> Integrations (Slack)
    path("", include("connectors.urls")),  # Workspace -> Sources
    # SCIM 2.0 provisioning for the organization's identity provider (members.scim).
    path("scim/v2/", include("members.scim.urls")),
    path("", include("api.urls")),  # the API keys page, and the REST API under /api/v1/
]

handler400 = "saas.errors.bad_request"
handler403 = "saas.errors.permission_denied"
