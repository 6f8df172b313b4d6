"""API users: their representation, and what a client may write."""

import re

from rest_framework import serializers
from rest_framework.utils import html

from .. import keys
from ..models import User
from .common import (
    LabelInputSerializer,
    LabelSerializer,
    OutputModelSerializer,
    SimpleUserSerializer,
    StrictModelSerializer,
    UserRoleSerializer,
)

MAX_LABELS = 100


# The representation of an API user, in GET and write answers alike.
class ApiUserSerializer(OutputModelSerializer):
    changed_by = SimpleUserSerializer(read_only=True, help_text="User who last made changes.")
    labels = LabelSerializer(many=True, read_only=True)
    # Not read-only so that the schema, like the published one, does not mark it required.
    user_roles = UserRoleSerializer(many=True, required=False, help_text="Roles of the user.")
    key = serializers.SerializerMethodField(
        help_text="The API key, redacted to its public prefix. The full key is shown only once."
    )

    class Meta:
        model = User
        fields = [
            "id",
            "name",
            "changed_by",
            "changed",
            "active",
            "labels",
            "user_roles",
            "is_apiuser",
            "key",
        ]
        extra_kwargs = {"active": {"default": True}}

    def get_fields(self):
        fields = super().get_fields()
        # The list's `exclude` parameter, validated by apiusers.filters.
        for name in self.context.get("exclude", ()):
            del fields[name]
        return fields

    def get_key(self, user) -> str:
        return keys.redact(user.key_prefix) if user.key_prefix else ""


FORM_LABEL_KEY = re.compile(r"^labels\[\d+\](name|color)\Z")
FORM_LABELS_ERROR = (
    "In a form body, send labels as labels[0]name=...&labels[0]color=... "
    "(to clear all labels, send a JSON body with an empty list)."
)


class ApiUserUpdateSerializer(StrictModelSerializer):
    """What a client may change on an API user. Absent keys leave their field as it is."""

    labels = LabelInputSerializer(
        many=True,
        required=False,
        max_length=MAX_LABELS,
        help_text=f"Replaces the user's labels. At most {MAX_LABELS}, names unique.",
    )

    class Meta:
        model = User
        fields = ["name", "title", "active", "labels"]
        extra_kwargs = {"active": {"default": True}}

    def to_internal_value(self, data):
        if html.is_html_input(data):
            for key in data:
                if re.match(r"^labels\b", key) and not FORM_LABEL_KEY.match(key):
                    raise serializers.ValidationError({"labels": [FORM_LABELS_ERROR]})
        return super().to_internal_value(data)

    def validate_labels(self, labels):
        names = [label["name"] for label in labels]
        if len(set(names)) != len(names):
            raise serializers.ValidationError("Label names must be unique within a request.")
        return labels
