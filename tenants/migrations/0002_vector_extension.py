from django.db import migrations


class Migration(migrations.Migration):
    """pgvector lives in the public schema, on every tenant's search path."""

    dependencies = [("tenants", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS vector SCHEMA public",
            reverse_sql=migrations.RunSQL.noop,
        )
    ]
