"""The public site (the bare domain): signup, finding one's organization, Stripe's
webhooks and the platform operator's admin."""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from allauth.usersessions.models import UserSession
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.views import admin_login
from billing.urls import public_urlpatterns as billing_public
from connectors.urls import public_urlpatterns as connectors_public
from integrations.urls import public_urlpatterns as integrations_public
from members.urls import public_urlpatterns as members_public

# allauth registers admins for its email addresses, sessions, authenticators and single sign-on
# links (socialaccount), but their tables are in each organization's schema, and this admin is
# the public site's: the pages could only fail. Platform staff's own authenticators are in the
# public schema, but they hold TOTP secrets: `manage.py staff_totp` manages them, not a page.
for tenant_model in (
    EmailAddress,
    UserSession,
    Authenticator,
    SocialApp,
    SocialAccount,
    SocialToken,
):
    if admin.site.is_registered(tenant_model):
        admin.site.unregister(tenant_model)

urlpatterns = [
    # Pages without our layout's <link rel="icon"> (the Django admin's, the API docs, an
    # error page) make the browser ask for /favicon.ico: no 404 in their console.
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
    path("", include((members_public, "members"))),
    path("", include("tenants.urls")),
    path("billing/", include((billing_public, "billing"))),
    path("", include((integrations_public, "integrations_public"))),
    path("", include((connectors_public, "connectors_public"))),
    path("admin/login/", admin_login),  # throttled, before the admin's own
    path("admin/", admin.site.urls),
]

handler400 = "saas.errors.bad_request"
