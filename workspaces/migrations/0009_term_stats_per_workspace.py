"""BM25 statistics per workspace instead of per organization.

The organization-wide rows cannot be split, so the new ones are counted from the chunks
(their tsvectors and lexeme counts, as ingestion counts them); the old tables go.
"""

import django.db.models.deletion
from django.db import migrations, models

FILL = """
INSERT INTO workspaces_termstat (workspace_id, lexeme, chunk_count)
SELECT c.workspace_id, u.lexeme, count(*)
FROM assistant_chunk c CROSS JOIN unnest(tsvector_to_array(c.search)) AS u(lexeme)
WHERE c.search IS NOT NULL
GROUP BY c.workspace_id, u.lexeme;

INSERT INTO workspaces_corpusstat (workspace_id, chunk_count, lexeme_total)
SELECT workspace_id, count(*), coalesce(sum(lexeme_count), 0)
FROM assistant_chunk
GROUP BY workspace_id;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("workspaces", "0008_embedding_index"),
    ]

    operations = [
        migrations.DeleteModel(name="TermStat"),
        migrations.DeleteModel(name="CorpusStat"),
        migrations.CreateModel(
            name="TermStat",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "workspace",
                        "lexeme",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "workspace",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="workspaces.workspace",
                    ),
                ),
                ("lexeme", models.TextField(db_collation="C")),
                ("chunk_count", models.IntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="CorpusStat",
            fields=[
                (
                    "workspace",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="workspaces.workspace",
                    ),
                ),
                ("chunk_count", models.BigIntegerField(default=0)),
                ("lexeme_total", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunSQL(FILL, reverse_sql=migrations.RunSQL.noop),
    ]
