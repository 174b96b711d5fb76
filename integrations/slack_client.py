"""Slack's Web API through slack-sdk's WebClient, at SLACK_API_BASE_URL (Slack's own, or the
local Slack-format server offline): a rate-limited call (429) waits the Retry-After Slack
names and is tried again, SLACK_RATE_LIMIT_RETRIES times."""

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient


def slack_client(token: str | None = None) -> WebClient:
    return WebClient(
        token=token,
        base_url=settings.SLACK_API_BASE_URL,
        timeout=10,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=settings.SLACK_RATE_LIMIT_RETRIES)
        ],
    )


def slack_response_url_client(url: str) -> WebhookClient:
    """A slash command's response URL (ephemeral replies where the bot may not post)."""
    return WebhookClient(
        url,
        timeout=10,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=settings.SLACK_RATE_LIMIT_RETRIES)
        ],
    )
