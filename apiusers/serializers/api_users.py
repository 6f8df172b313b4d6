"""API users: their representation, and what a client may write."""

import re

from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils import html

from .. import keys
from ..fields import BoundedListField, IdField
from ..models import ApiKey, Change, User
from .common import (
    MAX_USER_ROLES,
    InputModelSerializer,
    LabelInputSerializer,
    LabelOutputSerializer,
    OutputModelSerializer,
    SimpleUserOutputSerializer,
    UserRoleInputSerializer,
    UserRoleOutputSerializer,
)

MAX_LABELS = 100
MAX_BULK = 100


# The representation of an API user, in GET and write answers alike.
class ApiUserOutputSerializer(OutputModelSerializer):
    changed_by = SimpleUserOutputSerializer(read_only=True, help_text="User who last made changes.")
    labels = LabelOutputSerializer(many=True, read_only=True)
    # Not read-only so that the schema, like the published one, does not mark it required.
    user_roles = UserRoleOutputSerializer(many=True, required=False, help_text="Roles of the user.")
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

    def get_key(self, user) -> str:
        return keys.redact(user.key_prefix) if user.key_prefix else ""


class ListedApiUserOutputSerializer(ApiUserOutputSerializer):
    """An API user as the list shows it: the fields named in the list's `exclude` parameter are
    left out, so only `id` is sure to be there."""

    def get_fields(self):
        fields = super().get_fields()
        # The list's `exclude` parameter, validated by apiusers.filters.api_users.
        for name in self.context.get("exclude", ()):
            fields.pop(name, None)  # a name may be given more than once
        return fields


# The answer to a creation: the only one that carries the full key.
class CreatedApiUserOutputSerializer(ApiUserOutputSerializer):
    key = serializers.SerializerMethodField(
        help_text="The full API key. This is the only time it is shown: store it now."
    )

    def get_key(self, user) -> str:
        return self.context["key"]


class ApiUserUpdateInputSerializer(InputModelSerializer):
    """What a client may change on an API user.

    In a partial update (PATCH) absent keys leave their field as it is. In a full update (PUT)
    `name` and `labels` are required, an absent `active` is true, an absent `title` is left as
    it is.
    """

    labels = LabelInputSerializer(  # type: ignore[call-arg]  # many=True takes max_length; the stubs lack it
        many=True,
        max_length=MAX_LABELS,
        help_text=f"Replaces the user's labels. At most {MAX_LABELS}, names unique.",
    )

    class Meta:
        model = User
        fields = ["name", "title", "active", "labels"]
        # `initial`: a new API user's form (browsable API) starts with the box ticked.
        extra_kwargs = {"active": {"default": True, "initial": True}}

    def validate_labels(self, labels):
        names = [label["name"] for label in labels]
        if len(set(names)) != len(names):
            raise serializers.ValidationError("Label names must be unique within a request.")
        return labels


class ApiUserCreateFormInputSerializer(ApiUserUpdateInputSerializer):
    """A new API user, as a form body writes it: `name` is required, labels are optional (none
    by default). Roles are nested objects, sent in JSON only."""

    labels = LabelInputSerializer(  # type: ignore[call-arg]  # many=True takes max_length; the stubs lack it
        many=True,
        required=False,
        max_length=MAX_LABELS,
        help_text=f"Labels of the API user. At most {MAX_LABELS}, names unique.",
    )


FORM_USER_ROLES_KEY = re.compile(r"^user_roles\b")
FORM_USER_ROLES_ERROR = "Roles cannot be sent in a form body: send the request as JSON."


class ApiUserCreateInputSerializer(ApiUserCreateFormInputSerializer):
    """A new API user: `name` is required; labels and roles are optional (none by default)."""

    user_roles = UserRoleInputSerializer(  # type: ignore[call-arg]  # many=True takes max_length; the stubs lack it
        many=True,
        required=False,
        max_length=MAX_USER_ROLES,
        help_text=(
            "Roles of the API user, each in a scope: the account, a team or a target of the "
            f"caller's account. At most {MAX_USER_ROLES}. A caller grants only roles whose "
            "permissions it holds."
        ),
    )

    class Meta(ApiUserCreateFormInputSerializer.Meta):
        fields = [*ApiUserCreateFormInputSerializer.Meta.fields, "user_roles"]

    def to_internal_value(self, data):
        # DRF reads roles from a form only in its dotted syntax (`user_roles[0]role.id=...`) and
        # drops a JSON part unseen; roles are JSON only, so any `user_roles` key is refused.
        if html.is_html_input(data) and any(FORM_USER_ROLES_KEY.match(key) for key in data):
            raise serializers.ValidationError({"user_roles": [FORM_USER_ROLES_ERROR]})
        return super().to_internal_value(data)


class ApiUserBulkUpdateInputSerializer(ApiUserUpdateInputSerializer):
    """`ids` of the API users to change, and the fields to set on all of them."""

    ids = BoundedListField(
        child=IdField(),
        min_length=1,
        max_length=MAX_BULK,
        unique_items=True,
        help_text="List of object IDs, each given once.",
    )

    class Meta(ApiUserUpdateInputSerializer.Meta):
        fields = ["ids", *ApiUserUpdateInputSerializer.Meta.fields]

    def get_fields(self):
        # The fields to set are a partial update: none is required and none has a default
        # (an absent `active` is left as it is), in validation and in the schema alike.
        fields = super().get_fields()
        for name, field in fields.items():
            if name != "ids":
                field.required, field.default = False, empty
        return fields

    def validate(self, attrs):
        # `ids` is required although the fields to set are a partial update.
        if "ids" not in attrs:
            raise serializers.ValidationError(
                {"ids": [self.fields["ids"].error_messages["required"]]}
            )
        return attrs

    def validate_ids(self, ids):
        # Whether each names an API user of the account is checked once, by the write, on the
        # rows it locks.
        if len(set(ids)) != len(ids):
            raise serializers.ValidationError("Each id may be given only once.")
        return ids


class BulkUpdateResultOutputSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.CharField(), help_text="List of object IDs.")


class KeyOutputSerializer(serializers.Serializer):
    key = serializers.SerializerMethodField(help_text="The key, redacted to its public prefix.")
    created = serializers.DateTimeField(help_text="When the key was issued.")
    last_used = serializers.DateTimeField(
        allow_null=True,
        help_text="When the key last authenticated a request (updated at most once a minute).",
    )
    expires = serializers.DateTimeField(
        allow_null=True,
        help_text="When a rotated-out key stops working; null for the current key.",
    )

    def get_key(self, api_key: ApiKey) -> str:
        return keys.redact(api_key.prefix)


class KeyStatusOutputSerializer(serializers.Serializer):
    current = KeyOutputSerializer(allow_null=True, help_text="The key in use.")
    previous = KeyOutputSerializer(
        allow_null=True,
        help_text=(
            "The key replaced by the last rotation, while its grace period runs; null otherwise."
        ),
    )


class RotatedKeyOutputSerializer(KeyStatusOutputSerializer):
    key = serializers.CharField(
        help_text="The new full API key. This is the only time it is shown: store it now."
    )


class ChangeOutputSerializer(OutputModelSerializer):
    actor = SimpleUserOutputSerializer(help_text="Who made the change.")
    changes = serializers.DictField(
        help_text=(
            'Each changed field with its old and new value: `{"name": {"from": "a", "to": "b"}}`. '
            "Labels are lists of names; roles are lists of role-and-scope descriptions."
        )
    )

    class Meta:
        model = Change
        fields = ["id", "at", "actor", "action", "changes"]
