"""Chunks and term statistics now belong to the workspaces app (its migration 0002).

State only: the tables, their rows and the citations' foreign keys stay as they are. The
content types follow the models so permissions and generic relations keep pointing at them.
"""

import django.db.models.deletion
from django.db import migrations, models

MOVED = ("chunk", "termstat", "corpusstat")


def content_types_follow(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label="workspaces", model=model).exists():
            ContentType.objects.filter(app_label="assistant", model=model).update(
                app_label="workspaces"
            )


def content_types_return(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label="assistant", model=model).exists():
            ContentType.objects.filter(app_label="workspaces", model=model).update(
                app_label="assistant"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("assistant", "0005_message_search_embedding"),
        ("workspaces", "0002_chunks_move_here"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    state_operations = [
        migrations.AlterField(
            model_name="citation",
            name="chunk",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="workspaces.chunk",
            ),
        ),
        migrations.RemoveField(model_name="chunk", name="document"),
        migrations.RemoveField(model_name="chunk", name="workspace"),
        migrations.DeleteModel(name="CorpusStat"),
        migrations.DeleteModel(name="TermStat"),
        migrations.DeleteModel(name="Chunk"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations),
        migrations.RunPython(content_types_follow, content_types_return),
    ]
