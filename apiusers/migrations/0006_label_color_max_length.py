"""Label colours get a maximum length of 255 characters.

A colour stored before the limit existed and longer than it cannot be a real colour: it is
emptied (the label keeps its name, users and `changed`), so that the column can be narrowed on
every database instead of the migration failing.
"""

import django.core.validators
from django.db import migrations, models
from django.db.models.functions import Length

MAX_LENGTH = 255


def empty_overlong_colors(apps, schema_editor):
    Label = apps.get_model("apiusers", "Label")
    Label.objects.annotate(color_length=Length("color")).filter(color_length__gt=MAX_LENGTH).update(
        color=""
    )


class Migration(migrations.Migration):
    dependencies = [
        ("apiusers", "0005_change_help_texts"),
    ]

    operations = [
        migrations.RunPython(empty_overlong_colors, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="label",
            name="color",
            field=models.CharField(
                blank=True,
                help_text=(
                    'Color of the label, in RGB hexadecimal format prefixed with "#".\n'
                    'For example, "#00FF00" for green.'
                ),
                max_length=MAX_LENGTH,
                validators=[django.core.validators.RegexValidator("\\A[a-zA-Z0-9#_-]*\\Z")],
            ),
        ),
    ]
