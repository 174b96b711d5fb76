from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("audit", "0007_source_actions")]

    operations = [
        # The varchar_pattern_ops copy of the action's index serves only LIKE 'x%', which nothing
        # here asks of the action; the plain index stays for the audit page's filter.
        migrations.RunSQL(
            sql="DROP INDEX IF EXISTS audit_auditevent_action_2131bb77_like",
            reverse_sql="CREATE INDEX audit_auditevent_action_2131bb77_like ON audit_auditevent USING btree (action varchar_pattern_ops)",
        ),
    ]
