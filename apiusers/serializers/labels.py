"""User labels: what a client may write. The representation is `common.LabelOutputSerializer`."""

from ..fields import LabelColorField
from ..models import Label
from .common import COLOR_HELP_TEXT, InputModelSerializer


class LabelWriteInputSerializer(InputModelSerializer):
    """What a client may write on a label: its name, unique within the account, and its
    colour."""

    color = LabelColorField(required=False, help_text=COLOR_HELP_TEXT)

    class Meta:
        model = Label
        fields = ["name", "color"]

    def validate(self, attrs):
        # Not a field default: the PATCH schema would then show one, and PATCH keeps the colour.
        if not self.partial:
            attrs.setdefault("color", "")
        return attrs
