"""Plan limits on sources (issue 27): how many an organization may connect, and the
shortest schedule a source may sync on."""

from django.db import migrations, models

# slug: (max_sources, min_sync_interval_minutes)
LIMITS = {"free": (2, 1440), "team": (20, 60), "business": (100, 60), "internal": (2**31 - 1, 0)}


def seed(apps, schema_editor):
    if schema_editor.connection.schema_name != "public":
        return
    Plan = apps.get_model("billing", "Plan")
    for slug, (sources, minutes) in LIMITS.items():
        Plan.objects.filter(slug=slug).update(
            max_sources=sources, min_sync_interval_minutes=minutes
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0007_alter_questionusage_organization_and_more")]

    operations = [
        migrations.AddField(
            model_name="plan",
            name="max_sources",
            field=models.PositiveIntegerField(
                default=20, help_text="Sources (Drive, websites, ...) the organization may connect."
            ),
        ),
        migrations.AddField(
            model_name="plan",
            name="min_sync_interval_minutes",
            field=models.PositiveIntegerField(
                default=60, help_text="The shortest schedule a source may sync on, in minutes."
            ),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
