"""The public site (the bare domain): signup, finding one's organization, Stripe's
webhooks and the platform operator's admin."""

from django.contrib import admin
from django.urls import include, path

from billing.urls import public_urlpatterns as billing_public
from members.urls import public_urlpatterns as members_public

urlpatterns = [
    path("", include((members_public, "members"))),
    path("", include("tenants.urls")),
    path("billing/", include((billing_public, "billing"))),
    path("admin/", admin.site.urls),
]

handler400 = "saas.errors.bad_request"
