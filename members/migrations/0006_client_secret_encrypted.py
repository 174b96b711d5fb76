"""The single sign-on client secret, stored in clear until now, is envelope-encrypted
(accounts.secrets_at_rest) under the key in force when this runs (SECRETS_KMS_KEY in
production: the migration job needs the same key access as the service)."""

from typing import Any

from django.db import migrations, models

from accounts.secrets_at_rest import secret_open, secret_seal

PURPOSE = "sso-client-secret"  # members.models.CLIENT_SECRET_PURPOSE, frozen here


def _encrypt(apps: Any, schema_editor: Any) -> None:
    IdentityProvider = apps.get_model("members", "IdentityProvider")
    for provider in IdentityProvider.objects.exclude(client_secret_encrypted=""):
        provider.client_secret_encrypted = secret_seal(
            provider.client_secret_encrypted, purpose=PURPOSE
        )
        provider.save(update_fields=["client_secret_encrypted"])


def _decrypt(apps: Any, schema_editor: Any) -> None:
    IdentityProvider = apps.get_model("members", "IdentityProvider")
    for provider in IdentityProvider.objects.exclude(client_secret_encrypted=""):
        provider.client_secret_encrypted = secret_open(
            provider.client_secret_encrypted, purpose=PURPOSE
        )
        provider.save(update_fields=["client_secret_encrypted"])


class Migration(migrations.Migration):
    dependencies = [("members", "0005_fewer_indexes")]

    operations = [
        migrations.RenameField(
            model_name="identityprovider",
            old_name="client_secret",
            new_name="client_secret_encrypted",
        ),
        migrations.AlterField(
            model_name="identityprovider",
            name="client_secret_encrypted",
            field=models.TextField(blank=True),
        ),
        migrations.RunPython(_encrypt, _decrypt),
    ]
