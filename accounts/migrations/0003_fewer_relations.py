"""Fewer relations in every schema (issue 26) for the user model and the contrib tables it
stands on, which public and organization schemas both hold."""

from django.db import migrations

# Each table's columns are bounded (varchar(n)), so a row always fits in a page: with every
# column stored PLAIN the table needs no TOAST table (and TOAST index). A copy of the
# template (tenants.schema_clone, CREATE TABLE ... LIKE ... INCLUDING ALL) gets none; CLUSTER
# rewrites an existing table, which drops the TOAST table it no longer needs.
PLAIN = {
    "accounts_user": (
        "accounts_user_pkey",
        ["password", "first_name", "last_name", "email", "full_name", "role"],
    ),
    "django_migrations": ("django_migrations_pkey", ["app", "name"]),
}


def storage_sql(storage: str) -> list[str]:
    statements = []
    for table, (primary_key, columns) in PLAIN.items():
        alter = ", ".join(f"ALTER COLUMN {column} SET STORAGE {storage}" for column in columns)
        statements.append(f"ALTER TABLE {table} {alter}")
        statements.append(f"CLUSTER {table} USING {primary_key}")
    return statements


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_is_service_account"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        # varchar_pattern_ops copies of unique columns' indexes, which only LIKE 'x%' would use;
        # nothing queries these columns with LIKE (icontains is UPPER(...) LIKE: no btree).
        migrations.RunSQL(
            sql=[
                "DROP INDEX IF EXISTS accounts_user_email_b2644a56_like",
                "DROP INDEX IF EXISTS auth_group_name_a6ea08ec_like",
                "DROP INDEX IF EXISTS django_session_session_key_c0390e0f_like",
            ],
            reverse_sql=[
                "CREATE INDEX accounts_user_email_b2644a56_like ON accounts_user USING btree (email varchar_pattern_ops)",
                "CREATE INDEX auth_group_name_a6ea08ec_like ON auth_group USING btree (name varchar_pattern_ops)",
                "CREATE INDEX django_session_session_key_c0390e0f_like ON django_session USING btree (session_key varchar_pattern_ops)",
            ],
        ),
        # A unique constraint that leads with the same column serves each of these.
        migrations.RunSQL(
            sql=[
                "DROP INDEX IF EXISTS accounts_user_groups_user_id_52b62117",
                "DROP INDEX IF EXISTS accounts_user_user_permissions_user_id_e4f0a161",
                "DROP INDEX IF EXISTS auth_group_permissions_group_id_b120cbf9",
                "DROP INDEX IF EXISTS auth_permission_content_type_id_2f476e4b",
            ],
            reverse_sql=[
                "CREATE INDEX accounts_user_groups_user_id_52b62117 ON accounts_user_groups USING btree (user_id)",
                "CREATE INDEX accounts_user_user_permissions_user_id_e4f0a161 ON accounts_user_user_permissions USING btree (user_id)",
                "CREATE INDEX auth_group_permissions_group_id_b120cbf9 ON auth_group_permissions USING btree (group_id)",
                "CREATE INDEX auth_permission_content_type_id_2f476e4b ON auth_permission USING btree (content_type_id)",
            ],
        ),
        migrations.RunSQL(sql=storage_sql("PLAIN"), reverse_sql=storage_sql("EXTENDED")),
    ]
