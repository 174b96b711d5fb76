"""Per-minute rate limits on asking and ingesting, per API key and per person."""

from django.db import migrations, models

LIMITS = {"free": (10, 20), "team": (30, 60), "business": (60, 120)}


def seed(apps, schema_editor):
    if schema_editor.connection.schema_name != "public":
        return
    Plan = apps.get_model("billing", "Plan")
    for slug, (asks, ingests) in LIMITS.items():
        Plan.objects.filter(slug=slug).update(asks_per_minute=asks, ingests_per_minute=ingests)


class Migration(migrations.Migration):
    dependencies = [("billing", "0004_ledger_and_model_cost_cap")]

    operations = [
        migrations.AddField(
            model_name="plan",
            name="asks_per_minute",
            field=models.PositiveIntegerField(
                default=20, help_text="Questions one person or API key may ask per minute."
            ),
        ),
        migrations.AddField(
            model_name="plan",
            name="ingests_per_minute",
            field=models.PositiveIntegerField(
                default=30,
                help_text="Uploads and replacements one API key or person may send per minute.",
            ),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
