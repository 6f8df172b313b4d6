"""The six built-in roles, with fixed ids so that every installation (and its docs) agree."""

from django.db import migrations

VIEW, MANAGE = "users.view", "users.manage"

BUILTIN_ROLES = [
    ("xRDpnjuNSWJX", "Owner", [VIEW, MANAGE]),
    ("UdU7tPEHa1DU", "Admin", [VIEW, MANAGE]),
    ("xwUdiXQuAjX8", "Auditor", [VIEW]),
    ("mUsmGptS2NDy", "Billing", []),
    ("mvHmA52RyzCE", "Developer", []),
    ("7XvGPgcXE6XR", "SecOps", [VIEW]),
]


def create_roles(apps, schema_editor):
    Role = apps.get_model("apiusers", "Role")
    for role_id, name, permissions in BUILTIN_ROLES:
        Role.objects.update_or_create(
            id=role_id, defaults={"name": name, "permissions": permissions}
        )


def delete_roles(apps, schema_editor):
    Role = apps.get_model("apiusers", "Role")
    Role.objects.filter(id__in=[role_id for role_id, _, _ in BUILTIN_ROLES]).delete()


class Migration(migrations.Migration):
    dependencies = [("apiusers", "0001_initial")]

    operations = [migrations.RunPython(create_roles, delete_roles)]
