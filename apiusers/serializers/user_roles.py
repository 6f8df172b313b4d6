"""API user role assignments: their representation, and what a client writes to give, change and
take away roles, one at a time or in bulk.

Every written item goes through UserRoleInputSerializer's list validation (ids of the caller's
account, tier and scope that match, no duplicates, only roles whose permissions the caller
holds), so single and bulk writes follow the same rules. Lists hold at most 100 items.
"""

from collections.abc import Mapping

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.fields import empty

from .. import selectors
from ..fields import BoundedListField, IdField, does_not_exist
from ..ids import ID_HELP_TEXT
from .common import (
    MAX_USER_ROLES,
    UserRoleInputSerializer,
    UserRoleListSerializer,
    UserRoleOutputSerializer,
)

LISTED_TWICE = "This id is already listed above."


def resolve(queryset: QuerySet, ids: list[str], *, unique: bool) -> tuple[dict, dict]:
    """The objects of `queryset` with these ids, in one query, and the errors by index: an id
    that is not there (missing, or of another account), or, when `unique`, one listed twice."""
    found = queryset.in_bulk(ids)
    errors, seen = {}, set()
    for index, pk in enumerate(ids):
        if pk not in found:
            errors[str(index)] = [does_not_exist(pk)]
        elif unique and pk in seen:
            errors[str(index)] = [LISTED_TWICE]
        seen.add(pk)
    return found, errors


class ObjectIdsField(BoundedListField):
    """Ids of objects of the caller's account (`queryset(account)`), each listed once, resolved
    to the objects in one query."""

    child = IdField()

    def __init__(self, *, queryset, **kwargs):
        self.queryset = queryset
        kwargs.setdefault("allow_empty", False)
        super().__init__(max_length=MAX_USER_ROLES, unique_items=True, **kwargs)

    def run_validation(self, data=empty):
        # After the validators, so that an overlong list is refused without a query.
        ids = super().run_validation(data)
        account = self.context["request"].user.account
        found, errors = resolve(self.queryset(account), ids, unique=True)
        if errors:
            raise serializers.ValidationError(errors)
        return [found[pk] for pk in ids]


# Output -------------------------------------------------------------------------------------


class ApiUserRoleOutputSerializer(UserRoleOutputSerializer):
    api_user = serializers.CharField(
        source="user_id", read_only=True, help_text="Id of the API user that has the role."
    )

    class Meta(UserRoleOutputSerializer.Meta):
        fields = ["id", "api_user", "role", "scope"]


def assignments_help_text(what: str) -> str:
    return f"The role assignments {what}, with the API user of each."


class ApiUserRolesResultOutputSerializer(serializers.Serializer):
    user_roles = ApiUserRoleOutputSerializer(
        many=True, help_text=assignments_help_text("that result")
    )


class DeletedIdsField(serializers.ListField):
    child = serializers.CharField(help_text=ID_HELP_TEXT)

    def __init__(self, **kwargs):
        super().__init__(help_text="Ids of the role assignments deleted.", **kwargs)


class ApiUserRolesDeleteResultOutputSerializer(serializers.Serializer):
    ids = DeletedIdsField()


class ApiUserRolesBulkResultOutputSerializer(serializers.Serializer):
    # DRF's metaclass takes declared fields out of the class, so `create` and `update` do not
    # replace the serializer's methods; the stubs cannot tell.
    create = ApiUserRoleOutputSerializer(  # type: ignore[assignment]
        many=True, help_text=assignments_help_text("created, or already held")
    )
    update = ApiUserRoleOutputSerializer(many=True, help_text=assignments_help_text("updated"))  # type: ignore[assignment]
    delete = DeletedIdsField()


# Input: one assignment ----------------------------------------------------------------------


class ApiUserRoleWriteInputSerializer(serializers.Serializer):
    """One assignment, validated as a list of one by UserRoleInputSerializer; its errors are the
    item's own, not keyed by index. In a partial update, `role` or `scope` that is not sent keeps
    its current value. Documented as UserRoleInputSerializer."""

    def to_internal_value(self, data):
        if self.partial and isinstance(data, Mapping):
            current = UserRoleOutputSerializer(self.instance).data
            sent = {
                name: field.get_value(data)
                for name, field in UserRoleInputSerializer().fields.items()
            }
            data = {
                name: current[name] if value is empty else value for name, value in sent.items()
            }
        items = UserRoleInputSerializer(many=True, context=self.context)
        try:
            return items.run_validation([data])[0]
        except serializers.ValidationError as error:
            [item_errors] = error.detail.values()
            raise serializers.ValidationError(item_errors) from None


# Input: bulk --------------------------------------------------------------------------------


class ReferencingUserRoleListSerializer(UserRoleListSerializer):
    """Items that also name, in `id_field`, what they apply to: resolved in one more query,
    refused at their index like the other ids, and replaced by the object when valid."""

    id_field: str
    unique: bool

    def candidates(self, account) -> QuerySet:
        raise NotImplementedError

    def holder(self, item):
        return item[self.id_field]

    def validate(self, items):
        ids = [item[self.id_field] for item in items]
        account = self.context["request"].user.account
        found, id_errors = resolve(self.candidates(account), ids, unique=self.unique)
        errors = {index: {self.id_field: messages} for index, messages in id_errors.items()}
        try:
            resolved = super().validate(items)
        except serializers.ValidationError as error:
            theirs = error.detail
            raise serializers.ValidationError(
                {
                    index: {**theirs.get(index, {}), **errors.get(index, {})}
                    for index in theirs.keys() | errors.keys()
                }
            ) from None
        if errors:
            raise serializers.ValidationError(errors)
        for item, pk in zip(resolved, ids, strict=True):
            item[self.id_field] = found[pk]
        return resolved


class NewApiUserRoleListSerializer(ReferencingUserRoleListSerializer):
    id_field, unique = "api_user", False

    def candidates(self, account):
        return selectors.api_users(account)


class ChangedApiUserRoleListSerializer(ReferencingUserRoleListSerializer):
    id_field, unique = "id", True

    def candidates(self, account):
        return selectors.api_user_roles(account)


class NewApiUserRoleInputSerializer(UserRoleInputSerializer):
    """A role given to an API user in a scope: `{"api_user": ..., "role": {"id": ...},
    "scope": {...}}`."""

    api_user = IdField(help_text="Id of the API user to give the role to.")

    class Meta:
        list_serializer_class = NewApiUserRoleListSerializer


class ChangedApiUserRoleInputSerializer(UserRoleInputSerializer):
    """A role assignment with its new role and scope: `{"id": ..., "role": {"id": ...},
    "scope": {...}}`."""

    id = IdField(help_text="Id of the role assignment to change.")

    class Meta:
        list_serializer_class = ChangedApiUserRoleListSerializer


def items(serializer_class, what: str, **kwargs):
    """A list of at most MAX_USER_ROLES items of `serializer_class`."""
    return serializer_class(
        many=True, max_length=MAX_USER_ROLES, help_text=items_help_text(what), **kwargs
    )


def items_help_text(what: str) -> str:
    return f"{what} At most {MAX_USER_ROLES}."


class ApiUserRolesBulkCreateInputSerializer(serializers.Serializer):
    api_users = ObjectIdsField(
        queryset=selectors.api_users,
        help_text=items_help_text("Ids of the API users to give every role to."),
    )
    user_roles = items(
        UserRoleInputSerializer, "The roles to give, each in its scope.", allow_empty=False
    )


class ApiUserRolesBulkDeleteInputSerializer(serializers.Serializer):
    ids = ObjectIdsField(
        queryset=selectors.api_user_roles,
        help_text=items_help_text("Ids of the role assignments to delete."),
    )


CHANGES = "The assignments to change, each with its new role and scope."


class ApiUserRolesBulkUpdateInputSerializer(serializers.Serializer):
    user_roles = items(ChangedApiUserRoleInputSerializer, CHANGES, allow_empty=False)


class ApiUserRolesBulkInputSerializer(serializers.Serializer):
    create = items(
        NewApiUserRoleInputSerializer,
        "The roles to give, each to an API user in a scope.",
        required=False,
    )
    update = items(ChangedApiUserRoleInputSerializer, CHANGES, required=False)
    delete = ObjectIdsField(
        queryset=selectors.api_user_roles,
        required=False,
        allow_empty=True,
        help_text=items_help_text("Ids of the role assignments to delete."),
    )

    def validate(self, attrs):
        if not any(attrs.get(operation) for operation in ("create", "update", "delete")):
            raise serializers.ValidationError("Send at least one of create, update and delete.")
        updated = {item["id"].pk for item in attrs.get("update", [])}
        both = {
            str(index): ["This role assignment is also updated in this request."]
            for index, user_role in enumerate(attrs.get("delete", []))
            if user_role.pk in updated
        }
        if both:
            raise serializers.ValidationError({"delete": both})
        return attrs
