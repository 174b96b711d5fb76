from django.contrib import admin
from django.urls import path

from billing.views import stripe_webhook
from tenants import views

urlpatterns = [
    path("", views.signup, name="signup"),
    path("signup/check-slug/", views.slug_check, name="slug_check"),
    path("find/", views.organization_find, name="organization_find"),
    path("admin/", admin.site.urls),
    path("billing/stripe/webhook/", stripe_webhook, name="stripe_webhook"),
]
