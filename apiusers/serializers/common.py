"""Serializers shared by several resources: strict input fields, brief nested objects.

Output serializers render the representation of the published docs; input serializers validate
what a client may write. Descriptions (help texts) are the docs' own words, since drf-spectacular
turns them into the OpenAPI document the docs are generated from.
"""

import copy
import json
import re

from django.db import models
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils import html

from ..fields import (
    IdField,
    LabelColorField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    does_not_exist,
)
from ..ids import ID_HELP_TEXT
from ..models import Label, Role, Tier, User, UserRole


# What a ModelSerializer builds from its model is the same for every instance of a class, and
# building it costs more than validating a body: it is built once per class. Fields: each
# instance gets its own copy (DRF copies a field by making it anew from its arguments), so no two
# requests share a field; a subclass changes its copy in `get_fields`. Validators (the model's
# unique-together and unique-for-date checks, found by walking its fields): each instance gets
# its own list of the class's validators, which keep nothing between calls (DRF passes them the
# serializer). (A comment, not a docstring: drf-spectacular would publish it as the text of every
# serializer without a docstring of its own.)
class ModelSerializer(serializers.ModelSerializer):
    def get_fields(self):
        return copy.deepcopy(self._per_class("_built_fields", super().get_fields))

    def get_validators(self):
        return list(self._per_class("_built_validators", super().get_validators))

    def _per_class(self, name: str, build):
        cls = type(self)
        built = cls.__dict__.get(name)
        if built is None:
            built = build()
            # Two threads may both build it at first; either result is the same.
            setattr(cls, name, built)
        return built


class InputModelSerializer(ModelSerializer):
    """A ModelSerializer whose text and boolean fields are the strict ones of fields.py."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.BooleanField: StrictBooleanField,
    }
    serializer_choice_field = StrictChoiceField


COLOR_HELP_TEXT = Label._meta.get_field("color").help_text


# Output -------------------------------------------------------------------------------------


# Answers are rendered by serializers whose model fields are read-only but keep the constraints
# of their model field (maximum length), which the published schema documents on responses too;
# `read_only_fields` would drop them. (No docstrings here: they would become schema text.)
class OutputModelSerializer(ModelSerializer):
    def get_fields(self):
        fields = super().get_fields()
        for name, field in fields.items():
            if name not in self._declared_fields:
                field.read_only, field.required = True, False
        return fields


class SimpleUserOutputSerializer(OutputModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name"]


class LabelOutputSerializer(OutputModelSerializer):
    color = LabelColorField(read_only=True, help_text=COLOR_HELP_TEXT)
    changed_by = SimpleUserOutputSerializer(read_only=True, help_text="User who last made changes.")

    class Meta:
        model = Label
        fields = ["id", "name", "color", "changed_by", "changed"]


class RoleReferenceOutputSerializer(OutputModelSerializer):
    """Return serializer_class with all fields as read_only except key. The key is the field use to retrieve the object in to_internal_value.

    This is for the drf-spectacular documentation generation.
    """  # noqa: E501 -- the published description of this object, word for word.

    class Meta:
        model = Role
        fields = ["id", "name"]


class TeamReferenceOutputSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True, help_text=ID_HELP_TEXT)
    name = serializers.CharField(read_only=True)


class TargetReferenceOutputSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True, help_text=ID_HELP_TEXT)
    name = serializers.CharField(read_only=True)
    url = serializers.CharField(read_only=True, help_text="Target URL.")


class ScopeOutputSerializer(serializers.Serializer):
    """Where a role applies. `team` is present only for the team tier, `target` only for the
    target tier; the account tier has neither."""

    tier = serializers.CharField(read_only=True)
    # Not read-only so that the schema, like the published one, does not mark them required.
    target = TargetReferenceOutputSerializer(required=False)
    team = TeamReferenceOutputSerializer(required=False)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        return {key: value for key, value in data.items() if value is not None}


class UserRoleOutputSerializer(OutputModelSerializer):
    role = RoleReferenceOutputSerializer(read_only=True)
    scope = ScopeOutputSerializer(source="*", read_only=True)

    class Meta:
        model = UserRole
        fields = ["id", "role", "scope"]


# Input --------------------------------------------------------------------------------------


# Row indexes have at most three digits: a form body holds at most 1000 fields (Django's
# DATA_UPLOAD_MAX_NUMBER_FIELDS), so at most 500 rows, and a longer number is no row anyone sent.
FORM_LABEL_KEY = re.compile(r"^labels\[([0-9]{1,3})\](?:name|color)\Z")
FORM_LABELS_ERROR = (
    "In a form body, send labels as labels[0]name=...&labels[0]color=..., indexes 0 to 999 "
    "(a row whose name and color are both empty is ignored), or as one `labels` value holding "
    'a JSON array: [{"name": ..., "color": ...}].'
)


class FormLabelsListSerializer(serializers.ListSerializer):
    """A user's labels. Form bodies write them as rows, `labels[<i>]name` and
    `labels[<i>]color`, or as one `labels` value holding a JSON array (what OpenAPI tools such
    as Swagger UI send in a multipart body); anything else under `labels` is refused.

    A row whose name and colour are both sent empty is ignored: that is how the browsable API's
    form offers spare rows, and how a person removes a label there (emptying every row clears
    the labels). Errors name a row by its index in the body, spare rows counted.
    """

    def get_value(self, dictionary):
        self.rows = None
        if not html.is_html_input(dictionary):
            return super().get_value(dictionary)
        keys = [key for key in dictionary if key == "labels" or key.startswith("labels[")]
        if keys == ["labels"]:
            return self.json_value(dictionary.getlist("labels"))
        if not all(FORM_LABEL_KEY.match(key) for key in keys):
            return FormError()
        if not keys:
            return empty
        indexes = sorted({int(FORM_LABEL_KEY.match(key)[1]) for key in keys})
        rows = zip(indexes, html.parse_html_list(dictionary, prefix="labels"), strict=True)
        rows = [
            (index, row) for index, row in rows if not row.get("name") == row.get("color") == ""
        ]
        self.rows = [index for index, _ in rows]
        return [row for _, row in rows]

    @staticmethod
    def json_value(values: list[str]):
        if values == [""]:
            return empty  # an empty form value means "not sent"
        try:
            [labels] = values
            return json.loads(labels)
        except ValueError:
            return FormError()

    def run_validation(self, data=empty):
        if isinstance(data, FormError):
            raise serializers.ValidationError([FORM_LABELS_ERROR])
        try:
            return super().run_validation(data)
        except serializers.ValidationError as error:
            if self.rows is not None and isinstance(error.detail, dict):
                error.detail = {
                    self.rows[key] if isinstance(key, int) else key: errors
                    for key, errors in error.detail.items()
                }
            raise


class FormError:
    """What a form body held under `labels` when it was neither rows nor a JSON array."""


class LabelInputSerializer(InputModelSerializer):
    """A label written on a user, matched by name within the account."""

    color = LabelColorField(help_text=COLOR_HELP_TEXT)

    class Meta:
        model = Label
        fields = ["name", "color"]
        list_serializer_class = FormLabelsListSerializer
        # The name the OpenAPI document has published for it (`LabelInputRequest`).
        ref_name = "LabelInput"

    def to_internal_value(self, data):
        # DRF skips `required` on nested fields when the root serializer is partial (PATCH);
        # a label item is always a whole label, so enforce it here.
        if isinstance(data, dict):
            missing = {
                name: [field.error_messages["required"]]
                for name, field in self.fields.items()
                if field.required and name not in data
            }
            if missing:
                raise serializers.ValidationError(missing)
        return super().to_internal_value(data)


# Role assignments, written by id ------------------------------------------------------------

MAX_USER_ROLES = 100


class ObjectIdInputSerializer(serializers.Serializer):
    id = IdField()


SCOPE_ERRORS = {
    Tier.ACCOUNT: "The account tier takes neither a team nor a target.",
    Tier.TEAM: "The team tier takes a team, and no target.",
    Tier.TARGET: "The target tier takes a target, and no team.",
}


class ScopeInputSerializer(serializers.Serializer):
    tier = StrictChoiceField(
        choices=Tier.choices, help_text="Where the role applies: the account, a team or a target."
    )
    team = ObjectIdInputSerializer(
        required=False, help_text="Required for the team tier, only then."
    )
    target = ObjectIdInputSerializer(
        required=False, help_text="Required for the target tier, only then."
    )

    class Meta:
        ref_name = "ScopeInput"  # as published

    def validate(self, attrs):
        tier = attrs["tier"]
        for scope in (Tier.TEAM, Tier.TARGET):
            if (tier == scope) != (scope in attrs):
                raise serializers.ValidationError(SCOPE_ERRORS[tier])
        return attrs


class UserRoleListSerializer(serializers.ListSerializer):
    """Resolves the ids of every item in three queries (roles, teams, targets), whatever their
    number. Teams and targets must be of the caller's account: an id of another account is
    refused exactly like one that does not exist. Whether the caller may grant the roles is the
    write service's to decide (services/authority.py)."""

    def validate(self, items):
        actor = self.context["request"].user
        account = actor.account
        roles = Role.objects.in_bulk([item["role"]["id"] for item in items])
        teams = account.teams.in_bulk(
            [i["scope"]["team"]["id"] for i in items if "team" in i["scope"]]
        )
        targets = account.targets.in_bulk(
            [i["scope"]["target"]["id"] for i in items if "target" in i["scope"]]
        )
        errors, resolved, seen = {}, [], set()
        for index, item in enumerate(items):
            scope = item["scope"]
            role = roles.get(item["role"]["id"])
            team = teams.get(scope["team"]["id"]) if "team" in scope else None
            target = targets.get(scope["target"]["id"]) if "target" in scope else None
            problems = {}
            if role is None:
                problems["role"] = {"id": [does_not_exist(item["role"]["id"])]}
            if "team" in scope and team is None:
                problems["scope"] = {"team": {"id": [does_not_exist(scope["team"]["id"])]}}
            if "target" in scope and target is None:
                problems["scope"] = {"target": {"id": [does_not_exist(scope["target"]["id"])]}}
            key = (
                self.holder(item),
                item["role"]["id"],
                scope["tier"],
                team and team.id,
                target and target.id,
            )
            if not problems and key in seen:
                problems["non_field_errors"] = ["This role is already given in this scope above."]
            seen.add(key)
            if problems:
                errors[str(index)] = problems
            else:
                resolved.append(
                    {"role": role, "tier": scope["tier"], "team": team, "target": target}
                )
        if errors:
            raise serializers.ValidationError(errors)
        return resolved

    def holder(self, item):
        """Whose assignment an item is: a role is refused twice in one scope for the same holder
        only. By default every item is for the same user (or users)."""
        return None


# Validated items become `{role, tier, team, target}` with model objects.
class UserRoleInputSerializer(serializers.Serializer):
    """A role given in a scope: `{"role": {"id": ...}, "scope": {"tier": ..., "team" | "target":
    {"id": ...}}}`."""

    role = ObjectIdInputSerializer(help_text="The role to give.")
    scope = ScopeInputSerializer(help_text="Where the role applies.")

    class Meta:
        list_serializer_class = UserRoleListSerializer
        ref_name = "UserRoleInput"  # as published
