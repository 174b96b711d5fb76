"""Keep each chunk's vector in its heap row.

pgvector stores a vector EXTERNAL, and PostgreSQL moves a field out of a row once the row
passes about 2 kB. A chunk's row (a 384-d vector of 1.5 kB, its text and its tsvector) is
about 2.7 kB, so every vector lived in the TOAST table: six buffer reads a row instead of
one, and an exact search over 2,000 readable chunks took 19 ms instead of about 2. Rows
up to a page now stay whole and the vector is never moved out. Applies to rows written
from now on (a document's next ingestion rewrites its chunks).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("workspaces", "0004_workspace_index_version"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE assistant_chunk SET (toast_tuple_target = 8160);"
            " ALTER TABLE assistant_chunk ALTER COLUMN embedding SET STORAGE PLAIN;",
            "ALTER TABLE assistant_chunk RESET (toast_tuple_target);"
            " ALTER TABLE assistant_chunk ALTER COLUMN embedding SET STORAGE EXTERNAL;",
        ),
    ]
