"""Every organization gets its billing account at signup now; reading one no longer creates
it. Organizations that signed up before (and never opened a billing page) get theirs here,
on the Free plan, as reading them would have given them."""

from django.db import migrations


def accounts_create(apps, schema_editor):
    Organization = apps.get_model("tenants", "Organization")
    BillingAccount = apps.get_model("billing", "BillingAccount")
    Plan = apps.get_model("billing", "Plan")
    free = Plan.objects.get(slug="free")
    missing = (
        Organization.objects.exclude(schema_name="public")
        .exclude(is_template=True)
        .exclude(billing_account__isnull=False)
    )
    BillingAccount.objects.bulk_create(
        BillingAccount(organization=organization, plan=free) for organization in missing
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0002_seed_plans"),
        ("tenants", "0002_vector_extension"),
    ]

    operations = [migrations.RunPython(accounts_create, migrations.RunPython.noop)]
