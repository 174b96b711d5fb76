"""Fail closed for documents synced before their connector mirrored permissions.

A connector that mirrors a source with permissions (Drive, Confluence, SharePoint) may hold
documents synced before permissions were mirrored (connectors 0003): they carry no readers,
so every reader of the workspace reads them, whoever the source shares them with. They are
restricted to nobody and marked pending; the connector's permission-only sync reads every
item's readers afresh (its cursor cleared, due at once), which lets their readers back in
within minutes. A public item is among them (its unrestricted state looks the same), and is
read again from that sync on."""

from django.db import migrations, models
from django.db.models import F

# The kinds whose sources said who reads each item when this migration was written
# (connectors.kinds.PERMISSION_KINDS).
PERMISSION_KINDS = ["google_drive", "confluence", "microsoft"]


def documents_restrict(apps, schema_editor):
    Connector = apps.get_model("connectors", "Connector")
    ConnectorItem = apps.get_model("connectors", "ConnectorItem")
    Document = apps.get_model("workspaces", "Document")
    Workspace = apps.get_model("workspaces", "Workspace")
    items = ConnectorItem.objects.filter(
        connector__mirror_permissions=True,
        connector__kind__in=PERMISSION_KINDS,
        document__isnull=False,
        document__readers_restricted=False,
    )
    document_ids = list(items.values_list("document_id", flat=True))
    if not document_ids:
        return
    connector_ids = set(items.values_list("connector_id", flat=True))
    items.update(readers_pending=True)
    workspace_ids = set(
        Document.objects.filter(pk__in=document_ids).values_list("workspace_id", flat=True)
    )
    Document.objects.filter(pk__in=document_ids).update(
        readers_restricted=True, reader_emails=[], reader_groups=[], reader_domains=[]
    )
    # No answer cached under the old readers is served again (workspaces.index_version).
    Workspace.objects.filter(pk__in=sorted(workspace_ids)).update(
        index_version=F("index_version") + 1
    )
    Connector.objects.filter(pk__in=connector_ids).update(readers_cursor="", readers_synced_at=None)


class Migration(migrations.Migration):
    dependencies = [
        ("connectors", "0006_fewer_indexes"),
        ("workspaces", "0012_fewer_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="connectoritem",
            name="readers_pending",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(documents_restrict, migrations.RunPython.noop, elidable=True),
    ]
