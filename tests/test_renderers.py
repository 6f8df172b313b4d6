"""apiusers.renderers.JSONRenderer writes what DRF's JSONRenderer writes, byte for byte."""

from datetime import UTC, datetime
from decimal import Decimal

from django.utils.translation import gettext_lazy
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import renderers
from rest_framework.exceptions import ErrorDetail
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from apiusers.renderers import JSONRenderer

DRF, OURS = renderers.JSONRenderer(), JSONRenderer()

# Any text a client could have stored, surrogates aside (UTF-8 cannot carry them, and the API
# refuses them on input): control characters, quotes, backslashes, U+2028, astral planes.
text = st.text(st.characters(exclude_categories=["Cs"]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | text,
    lambda children: st.lists(children) | st.dictionaries(text, children),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value_renders_as_drf_renders_it(value):
    assert OURS.render(value) == DRF.render(value)


def test_what_drf_encodes_its_own_way_renders_as_drf_renders_it():
    value = ReturnDict(
        {
            "at": datetime(2026, 3, 1, 12, 30, 5, 123456, UTC),
            "whole": datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC),
            "lazy": gettext_lazy("Not found."),
            "detail": ErrorDetail("Bad.", code="invalid"),
            "amount": Decimal("1.50"),
            "rows": {0: ["first row"], 12: ["row 12"]},
            "list": ReturnList(["a\u2028b\u2029c"], serializer=None),
        },
        serializer=None,
    )
    rendered = OURS.render(value)
    assert rendered == DRF.render(value)
    assert b'"at":"2026-03-01T12:30:05.123456Z"' in rendered
    assert b'"a\\u2028b\\u2029c"' in rendered


def test_what_orjson_refuses_is_written_by_drf():
    value = {"big": 2**64, "small": -(2**70), "list": [1, 2**100]}
    assert OURS.render(value) == DRF.render(value)


def test_an_indented_answer_and_no_answer_are_drf_s():
    value = {"name": "ci", "labels": [{"name": "x"}]}
    for media_type in ("application/json; indent=4", "application/json; indent=0"):
        assert OURS.render(value, media_type) == DRF.render(value, media_type)
    assert OURS.render(value, "application/json; indent=2").startswith(b'{\n  "name"')
    assert OURS.render(None) == b""


def test_the_api_answers_through_it(admin_client, api_user):
    response = admin_client.get(f"/api-users/{api_user.pk}/")
    assert response.status_code == 200
    assert type(response.accepted_renderer) is JSONRenderer
    assert response.content == DRF.render(response.data)
