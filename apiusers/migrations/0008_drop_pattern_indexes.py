from django.db import migrations, models

# On PostgreSQL, Django gives every indexed text column a second index for LIKE 'prefix%'
# (`varchar_pattern_ops`, named `..._like`). The ids here are opaque and never matched by prefix,
# so these indexes serve no query, yet every write of a row updates each of them: a PATCH's
# UPDATE of the user and its history INSERT wrote six. They are dropped (names carry a hash, so
# they are looked up). Only id columns (the key, `..._id` foreign keys) are concerned; name
# columns keep theirs. The history's own index on its user is covered by
# `change_user_newest_first` (user, -at) and goes too.
PATTERN_INDEXES_ON_IDS = r"""
    SELECT indexname FROM pg_indexes
    WHERE schemaname = current_schema() AND tablename LIKE 'apiusers\_%'
        AND indexname LIKE '%\_like'
        AND (indexdef LIKE '%(id varchar_pattern_ops)' OR indexdef LIKE '%\_id varchar_pattern_ops)')
"""


def drop_pattern_indexes_on_ids(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(PATTERN_INDEXES_ON_IDS)
        names = [name for (name,) in cursor.fetchall()]
    for name in names:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [("apiusers", "0007_list_indexes")]

    operations = [
        migrations.AlterField(
            model_name="change",
            name="user",
            field=models.ForeignKey(
                db_index=False,
                on_delete=models.deletion.CASCADE,
                related_name="history",
                to="apiusers.user",
            ),
        ),
        # Unused indexes: going back leaves them dropped.
        migrations.RunPython(drop_pattern_indexes_on_ids, migrations.RunPython.noop),
    ]
