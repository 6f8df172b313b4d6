"""The model serializers' fields and validators are built from the model once per class, and
each instance validates with its own copy of the fields and its own list of validators."""

import pytest
from rest_framework import serializers

from apiusers.serializers.api_users import (
    ApiUserBulkUpdateInputSerializer,
    ApiUserOutputSerializer,
    ApiUserUpdateInputSerializer,
)
from apiusers.serializers.common import LabelInputSerializer

LABELS = [{"name": "ci", "color": "#00FF00"}]


@pytest.fixture
def builds(monkeypatch):
    """How many times DRF's ModelSerializer built fields from a model, per class."""
    counted: dict[type, int] = {}
    build = serializers.ModelSerializer.get_fields

    def counting(self):
        counted[type(self)] = counted.get(type(self), 0) + 1
        return build(self)

    for cls in (ApiUserUpdateInputSerializer, LabelInputSerializer, ApiUserOutputSerializer):
        monkeypatch.delattr(cls, "_built_fields", raising=False)
    monkeypatch.setattr(serializers.ModelSerializer, "get_fields", counting)
    return counted


def test_fields_are_built_once_per_class(builds):
    for _ in range(3):
        serializer = ApiUserUpdateInputSerializer(data={"name": "a", "labels": LABELS})
        assert serializer.is_valid(), serializer.errors
    assert builds == {ApiUserUpdateInputSerializer: 1, LabelInputSerializer: 1}


def test_each_instance_has_its_own_fields_bound_to_it(builds):
    first, second = ApiUserUpdateInputSerializer(), ApiUserUpdateInputSerializer()
    for name in ("name", "labels"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first
        assert second.fields[name].parent is second
    first.fields["name"].max_length = 1
    assert ApiUserUpdateInputSerializer().fields["name"].max_length == 60


def test_each_instance_validates_by_its_own_arguments(builds):
    # `partial` is read through each field's root: a shared field would read another's.
    partial = ApiUserUpdateInputSerializer(data={}, partial=True)
    whole = ApiUserUpdateInputSerializer(data={})
    assert partial.is_valid()
    assert not whole.is_valid()
    assert set(whole.errors) == {"name", "labels"}
    assert partial.is_valid()


def test_a_subclass_changes_its_copy_only():
    # The bulk update makes every field but `ids` optional; the update's stay required.
    assert ApiUserBulkUpdateInputSerializer().fields["name"].required is False
    assert ApiUserUpdateInputSerializer().fields["name"].required is True
    assert ApiUserBulkUpdateInputSerializer().fields["name"].required is False


@pytest.fixture
def validator_builds(monkeypatch):
    """How many times DRF's ModelSerializer looked for a model's validators, per class."""
    counted: dict[type, int] = {}
    find = serializers.ModelSerializer.get_validators

    def counting(self):
        counted[type(self)] = counted.get(type(self), 0) + 1
        return find(self)

    for cls in (ApiUserUpdateInputSerializer, LabelInputSerializer):
        monkeypatch.delattr(cls, "_built_validators", raising=False)
    monkeypatch.setattr(serializers.ModelSerializer, "get_validators", counting)
    return counted


def test_validators_are_found_once_per_class(validator_builds):
    for _ in range(3):
        serializer = ApiUserUpdateInputSerializer(data={"name": "a", "labels": LABELS})
        assert serializer.is_valid(), serializer.errors
    assert validator_builds == {ApiUserUpdateInputSerializer: 1, LabelInputSerializer: 1}


def test_each_instance_has_its_own_list_of_validators(validator_builds):
    first = ApiUserUpdateInputSerializer()
    first.validators.append(lambda attrs: None)
    assert ApiUserUpdateInputSerializer().validators == []
