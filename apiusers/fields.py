"""Stricter versions of DRF's fields, used for every client-written value.

DRF's defaults coerce more than a public API should accept: `CharField` turns `123` into
`"123"` and `BooleanField` takes `"yes"`, `"on"` or `1`. Here a string must be a string without
control or format characters (they hide text, reverse it or break logs), and a boolean is a JSON
boolean or, because form bodies can only carry text, the word true or false.

Whitespace at either end of a string is trimmed, as DRF does, but control characters there are
refused like any others: trimming would drop some of them (tab, U+001C to U+001F, U+0085)
unseen, and let a value one such character longer than its limit through.
"""

import re
import unicodedata
from functools import lru_cache

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils import html
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from .ids import ID_HELP_TEXT, ID_LENGTH, ID_REGEX
from .models import LABEL_COLOR_CHARACTERS, LABEL_COLOR_MAX_LENGTH

FORBIDDEN_CATEGORIES = {"Cc", "Cf"}


@lru_cache
def text_pattern(*, allow_blank: bool) -> str:
    """The regular expression of what a StrictCharField accepts, for the OpenAPI document: no
    control or format character and, unless blank is allowed, one character that is not
    whitespace. JSON Schema patterns are ECMA-262 expressions, which name characters beyond the
    Basic Multilingual Plane only as surrogate pairs: the pattern lists the forbidden characters
    of that plane, and the server refuses the few format characters beyond it too (and lone
    surrogates, which no valid text holds). Computed once, for the schema only."""
    ranges, start = [], None
    for code in range(0x10000 + 1):
        is_forbidden = (
            code < 0x10000
            and not 0xD800 <= code <= 0xDFFF
            and unicodedata.category(chr(code)) in FORBIDDEN_CATEGORIES
        )
        if is_forbidden and start is None:
            start = code
        elif not is_forbidden and start is not None:
            ranges.append(f"\\u{start:04x}" + (f"-\\u{code - 1:04x}" if code - 1 > start else ""))
            start = None
    forbidden = "".join(ranges)
    if allow_blank:
        return f"^[^{forbidden}]*$"
    return f"^[^{forbidden}]*[^\\s{forbidden}][^{forbidden}]*$"


class StrictCharField(serializers.CharField):
    default_error_messages = {
        "invalid": "Not a valid string.",
        "control_character": "Control and format characters are not allowed.",
    }

    def get_value(self, dictionary):
        # DRF takes an empty value in a form for a field not sent, where the field is optional:
        # a form's `name=` is refused as JSON's `"name": ""` is, unless blank is allowed.
        value = super().get_value(dictionary)
        if value is empty and html.is_html_input(dictionary):
            return dictionary.get(self.field_name, empty)
        return value

    def run_validation(self, data=empty):
        # Before DRF's blank check and trimming, which see the value without its ends.
        if isinstance(data, str) and any(
            unicodedata.category(char) in FORBIDDEN_CATEGORIES for char in data
        ):
            self.fail("control_character")
        return super().run_validation(data)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def does_not_exist(pk: str) -> str:
    """DRF's words for an id that names nothing the caller can see (missing or foreign)."""
    return f'Invalid pk "{pk}" - object does not exist.'


class IdField(StrictCharField):
    """An object id: exactly 12 Base58 characters."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", ID_HELP_TEXT)
        super().__init__(min_length=ID_LENGTH, max_length=ID_LENGTH, **kwargs)
        self.validators.append(RegexValidator(ID_REGEX, "Not a valid id."))


class BoundedListField(serializers.ListField):
    """A list refused as too long before any of its items is validated: DRF's ListField checks
    `max_length` after validating every item, and a 2.5 MB body holds some 150,000 ids.

    `unique_items` says that the list refuses an item given twice, for the schema
    (`uniqueItems`); the refusal itself is the user's, which knows where its error goes."""

    def __init__(self, *, unique_items=False, **kwargs):
        self.unique_items = unique_items
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if self.max_length is not None and isinstance(data, list) and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    """A choice whose refusal never quotes a lone surrogate back: the error message would then
    be unencodable, and its rendering a 500."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            ProhibitSurrogateCharactersValidator()(data)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be a valid boolean: true or false."}
    # An absent checkbox means "not sent", never false: a form PATCH must not deactivate a user.
    default_empty_html = empty

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and data.lower() in {"true", "false"}:
            return data.lower() == "true"
        self.fail("invalid")


# Not a CharField: drf-spectacular documents a blank-allowing CharField with a pattern as
# `oneOf: [pattern, ""]` (which rejects "", as it matches both) and a non-blank one with
# `minLength: 1`; the published schema states the pattern alone, which accepts "".
@extend_schema_field(
    {
        "type": "string",
        "maxLength": LABEL_COLOR_MAX_LENGTH,
        "pattern": f"^{LABEL_COLOR_CHARACTERS}$",
    }
)
class LabelColorField(serializers.Field):
    """A label colour: any string of the documented characters, the empty one included, of at
    most LABEL_COLOR_MAX_LENGTH of them."""

    default_error_messages = {
        "invalid": "Not a valid string.",
        "max_length": f"Ensure this field has no more than {LABEL_COLOR_MAX_LENGTH} characters.",
        "pattern": "This value does not match the required pattern.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if len(data) > LABEL_COLOR_MAX_LENGTH:
            self.fail("max_length")
        if not re.fullmatch(LABEL_COLOR_CHARACTERS, data):
            self.fail("pattern")
        return data

    def to_representation(self, value):
        return value
