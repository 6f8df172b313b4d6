"""The Owner role gains `account.own`: a caller grants only permissions it holds, so only an
Owner can make another Owner."""

from django.db import migrations

OWNER_ID = "xRDpnjuNSWJX"


def add(apps, schema_editor):
    apps.get_model("apiusers", "Role").objects.filter(id=OWNER_ID).update(
        permissions=["users.view", "users.manage", "account.own"]
    )


def remove(apps, schema_editor):
    apps.get_model("apiusers", "Role").objects.filter(id=OWNER_ID).update(
        permissions=["users.view", "users.manage"]
    )


class Migration(migrations.Migration):
    dependencies = [("apiusers", "0003_keys_history_soft_delete")]

    operations = [migrations.RunPython(add, remove)]
