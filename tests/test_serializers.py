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


def count_runs(monkeypatch, method: str, cache: str, classes) -> dict[type, int]:
    """How many times DRF's ModelSerializer ran `method`, per class; `cache` is the attribute in
    which the project's base class keeps what it returned, emptied first on `classes`."""
    counted: dict[type, int] = {}
    run = getattr(serializers.ModelSerializer, method)

    def counting(self):
        counted[type(self)] = counted.get(type(self), 0) + 1
        return run(self)

    for cls in classes:
        monkeypatch.delattr(cls, cache, raising=False)
    monkeypatch.setattr(serializers.ModelSerializer, method, counting)
    return counted


@pytest.fixture
def builds(monkeypatch):
    """How many times DRF's ModelSerializer built fields from a model, per class."""
    classes = (ApiUserUpdateInputSerializer, LabelInputSerializer, ApiUserOutputSerializer)
    return count_runs(monkeypatch, "get_fields", "_built_fields", classes)


@pytest.fixture
def validator_builds(monkeypatch):
    """How many times DRF's ModelSerializer looked for a model's validators, per class."""
    classes = (ApiUserUpdateInputSerializer, LabelInputSerializer)
    return count_runs(monkeypatch, "get_validators", "_built_validators", classes)


def test_fields_and_validators_are_built_once_per_class(builds, validator_builds):
    for _ in range(3):
        serializer = ApiUserUpdateInputSerializer(data={"name": "a", "labels": LABELS})
        assert serializer.is_valid(), serializer.errors
    assert builds == {ApiUserUpdateInputSerializer: 1, LabelInputSerializer: 1}
    assert validator_builds == {ApiUserUpdateInputSerializer: 1, LabelInputSerializer: 1}


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


def test_each_instance_has_its_own_list_of_validators(validator_builds):
    first = ApiUserUpdateInputSerializer()
    first.validators.append(lambda attrs: None)
    assert ApiUserUpdateInputSerializer().validators == []
