"""The local Stripe-format server fixture, for deleting an organization with a subscription."""

from tests.billing.conftest import stripe_server

__all__ = ["stripe_server"]
