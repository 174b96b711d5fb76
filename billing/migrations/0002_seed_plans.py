"""The three plans every installation starts with; the operator edits them in the admin
(set each paid plan's Stripe price id there, or in this migration's values for new sites)."""

from django.db import migrations

MB = 1024 * 1024
GB = 1024 * MB

PLANS = [
    {
        "slug": "free",
        "name": "Free",
        "position": 0,
        "stripe_price_id": "",
        "monthly_price_cents": 0,
        "questions_per_period": 100,
        "max_documents": 25,
        "max_storage_bytes": 100 * MB,
        "max_members": 5,
        "max_workspaces": 3,
    },
    {
        "slug": "team",
        "name": "Team",
        "position": 1,
        "stripe_price_id": "price_team_monthly",
        "monthly_price_cents": 4900,
        "questions_per_period": 2000,
        "max_documents": 1000,
        "max_storage_bytes": 5 * GB,
        "max_members": 25,
        "max_workspaces": 20,
    },
    {
        "slug": "business",
        "name": "Business",
        "position": 2,
        "stripe_price_id": "price_business_monthly",
        "monthly_price_cents": 19900,
        "questions_per_period": 20000,
        "max_documents": 10000,
        "max_storage_bytes": 50 * GB,
        "max_members": 250,
        "max_workspaces": 200,
    },
]


def seed(apps, schema_editor):
    # Billing lives in the public schema only; migrate_schemas runs this once per schema.
    if schema_editor.connection.schema_name != "public":
        return
    Plan = apps.get_model("billing", "Plan")
    for plan in PLANS:
        Plan.objects.update_or_create(slug=plan["slug"], defaults=plan)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
