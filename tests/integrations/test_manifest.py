"""The Slack app's manifest asks for the scopes the install asks for, and sends Slack's
requests to the URLs the public site serves."""

from pathlib import Path

import yaml
from django.urls import reverse

from integrations.services import BOT_SCOPES

MANIFEST = Path(__file__).resolve().parents[2] / "integrations" / "slack-manifest.yaml"


def test_manifest_scopes_and_urls_match_the_code(settings):
    manifest = yaml.safe_load(MANIFEST.read_text())
    public = settings.PUBLIC_SCHEMA_URLCONF
    events = "https://YOUR_DOMAIN" + reverse("integrations_public:events", urlconf=public)
    callback = "https://YOUR_DOMAIN" + reverse("integrations_public:oauth_callback", urlconf=public)

    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)
    assert manifest["oauth_config"]["redirect_urls"] == [callback]
    assert manifest["settings"]["event_subscriptions"]["request_url"] == events
    assert manifest["settings"]["interactivity"]["request_url"] == events
    assert manifest["features"]["slash_commands"][0]["url"] == events
    assert manifest["features"]["slash_commands"][0]["command"] == "/ask"
