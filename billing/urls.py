from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.billing, name="overview"),
    path("checkout/", views.billing_checkout, name="checkout"),
    path("portal/", views.billing_portal, name="portal"),
    path("activating/", views.billing_activating, name="activating"),
]

# Stripe calls the public site: one endpoint for every organization's events.
public_urlpatterns = [
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
]
