import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from billing.models import Plan
from localdev.stripe_server import StripeLocal


class Command(BaseCommand):
    help = "Run the local Stripe-format server (localdev/stripe_server.py) until interrupted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=12111)
        parser.add_argument(
            "--webhook-url",
            default=f"http://{settings.BASE_DOMAIN}:8000/billing/stripe/webhook/",
            help="Where to send the signed webhook events.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        prices = {
            plan.stripe_price_id: (plan.name, plan.monthly_price_cents)
            for plan in Plan.objects.exclude(stripe_price_id="")
        }
        server = StripeLocal(
            webhook_url=options["webhook_url"],
            webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
            prices=prices,
            port=options["port"],
        ).start()
        self.stdout.write(f"Local Stripe-format server on {server.url}", ending="\n")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            server.stop()
