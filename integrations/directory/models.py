"""Which organization a Slack team belongs to, in the public schema: every event, command
and button press arrives at one URL on the public site naming only its Slack team, and this
is how the organization (and so the schema to answer in) is found before any schema is in
force. Routing facts only: the bot token and what the app may search live in the
organization's own schema (integrations.models.SlackInstallation)."""

from django.db import models

from tenants.models import Organization


class SlackTeam(models.Model):
    # Unique: one Slack workspace maps to one organization; a second organization's
    # install of the same team is refused (integrations.services).
    team_id = models.CharField(max_length=32, unique=True)
    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="slack_team"
    )
    # Events the bot itself caused (its own messages) are ignored by slack-bolt with these.
    bot_user_id = models.CharField(max_length=32)
    bot_id = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Slack team {self.team_id} → {self.organization}"
