from django.urls import path

from billing import views

urlpatterns = [
    path("", views.billing, name="billing"),
    path("checkout/", views.billing_checkout, name="billing_checkout"),
    path("portal/", views.billing_portal, name="billing_portal"),
    path("activating/", views.billing_activating, name="billing_activating"),
]
