"""Chunks and the BM25 term statistics moved from the assistant app to the knowledge base.

State only: the tables keep their names (`assistant_chunk`, `assistant_termstat`,
`assistant_corpusstat`, set as `db_table` on the models) and their rows, indexes and
constraints, so an organization created before the move keeps its chunks. On a new
database the assistant app's earlier migrations create the tables, hence the dependency.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
import pgvector.django.indexes
import pgvector.django.vector
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workspaces", "0001_initial"),
        ("assistant", "0005_message_search_embedding"),
    ]

    state_operations = [
        migrations.CreateModel(
            name="CorpusStat",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                ("chunk_count", models.BigIntegerField(default=0)),
                ("lexeme_total", models.BigIntegerField(default=0)),
            ],
            options={"db_table": "assistant_corpusstat"},
        ),
        migrations.CreateModel(
            name="TermStat",
            fields=[
                ("lexeme", models.TextField(primary_key=True, serialize=False)),
                ("chunk_count", models.IntegerField(default=0)),
            ],
            options={"db_table": "assistant_termstat"},
        ),
        migrations.CreateModel(
            name="Chunk",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("ordinal", models.PositiveIntegerField()),
                ("text", models.TextField()),
                ("page", models.PositiveIntegerField(blank=True, null=True)),
                ("heading_path", models.CharField(blank=True, max_length=1000)),
                ("token_count", models.PositiveIntegerField()),
                ("lexeme_count", models.PositiveIntegerField(default=0)),
                ("embedding", pgvector.django.vector.VectorField(dimensions=384)),
                ("search", django.contrib.postgres.search.SearchVectorField(null=True)),
                (
                    "document",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="chunks",
                        to="workspaces.document",
                    ),
                ),
                (
                    "workspace",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="workspaces.workspace",
                    ),
                ),
            ],
            options={
                "db_table": "assistant_chunk",
                "ordering": ["document_id", "ordinal"],
                "indexes": [
                    pgvector.django.indexes.HnswIndex(
                        ef_construction=64,
                        fields=["embedding"],
                        m=16,
                        name="chunk_embedding_hnsw",
                        opclasses=["vector_cosine_ops"],
                    ),
                    django.contrib.postgres.indexes.GinIndex(
                        fields=["search"], name="chunk_search_gin"
                    ),
                    models.Index(fields=["workspace"], name="chunk_workspace"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("document", "ordinal"), name="one_chunk_per_ordinal"
                    )
                ],
            },
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
