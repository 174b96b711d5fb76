"""The public site (the bare domain): signup, finding one's organization, Stripe's
webhooks and the platform operator's admin."""

from allauth.account.models import EmailAddress
from django.contrib import admin
from django.urls import include, path

from accounts.views import admin_login
from billing.urls import public_urlpatterns as billing_public
from members.urls import public_urlpatterns as members_public

# allauth registers an admin for its email addresses, but their table is in each
# organization's schema, and this admin is the public site's: the page could only fail.
if admin.site.is_registered(EmailAddress):
    admin.site.unregister(EmailAddress)

urlpatterns = [
    path("", include((members_public, "members"))),
    path("", include("tenants.urls")),
    path("billing/", include((billing_public, "billing"))),
    path("admin/login/", admin_login),  # throttled, before the admin's own
    path("admin/", admin.site.urls),
]

handler400 = "saas.errors.bad_request"
