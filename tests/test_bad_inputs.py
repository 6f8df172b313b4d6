"""PATCH /api-users/{id}/ with bad inputs: each is refused with a clear JSON 4xx, or ignored.

Every case asserts the exact status, a JSON Content-Type, the exact body, and that the database
is exactly as it was before the request: a refused or ignored input writes nothing, anywhere.
The clients here hand back a server error as a response instead of raising it, so a 500 fails
as a wrong status, like any other wrong answer.

The kinds of bad input are numbered 1 to 41 (the comments and the test ids carry the number).
Two have no case here: 26, ids of another account in the body, does not apply, since PATCH
bodies carry no ids and a label name that exists only in another account creates a label in the
caller's own account (test_api_users_partial_update.py); 35, If-Match, is out of scope until it
is implemented.
"""

import json
from pathlib import Path

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from rest_framework.test import APIClient

from apiusers.keys import redact
from apiusers.models import ApiKey, Label, User, UserRole

from .conftest import url
from .factories import api_user_with_key

pytestmark = pytest.mark.django_db

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

NOT_FOUND = {"detail": "Not found."}
NOT_A_STRING = ["Not a valid string."]
CONTROL_CHARACTERS = ["Control and format characters are not allowed."]
NOT_A_BOOLEAN = {"active": ["Must be a valid boolean: true or false."]}
NOT_NULL = ["This field may not be null."]
BLANK = ["This field may not be blank."]
REQUIRED = ["This field is required."]
PATTERN = ["This value does not match the required pattern."]
TOO_MANY_LABELS = {
    "labels": {"non_field_errors": ["Ensure this field has no more than 100 elements."]}
}
DUPLICATE_LABELS = {"labels": ["Label names must be unique within a request."]}
FORM_LABELS = {
    "labels": [
        "In a form body, send labels as labels[0]name=...&labels[0]color=..., indexes 0 to 999 "
        "(a row whose name and color are both empty is ignored), or as one `labels` value "
        'holding a JSON array: [{"name": ..., "color": ...}].'
    ]
}
NO_CREDENTIALS = {"detail": "Authentication credentials were not provided."}
BAD_CREDENTIALS = {"detail": "Incorrect authentication credentials."}
# Form bodies that are not valid in their charset, or that have too many fields.
FORM_NOT_UTF8 = {"detail": "Form parse error - the body is not valid UTF-8."}
MULTIPART_NOT_UTF8 = {"detail": "Multipart form parse error - the body is not valid UTF-8."}
FORM_TOO_MANY_FIELDS = {"detail": "Form parse error - more than 1000 fields."}
MULTIPART_FILE = {"detail": "Multipart form parse error - file parts are not accepted."}
TOO_LONG = ["Ensure this field has no more than 255 characters."]
COLOR_TOO_LONG = {"labels": {"0": {"color": TOO_LONG}}}


def database_state() -> dict:
    """Every row a PATCH of an API user could touch, in a comparable form: the users (name,
    title, active, changed, changed_by and the rest), their label links, every label, every
    role assignment and every key."""
    return {
        "users": list(
            User.objects.order_by("id").values_list(
                "id",
                "account_id",
                "name",
                "title",
                "active",
                "changed",
                "changed_by_id",
                "email",
                "is_apiuser",
                "is_staff",
                "is_superuser",
                "password",
                "last_login",
            )
        ),
        "user_labels": sorted(User.labels.through.objects.values_list("user_id", "label_id")),
        "labels": list(
            Label.objects.order_by("id").values_list(
                "id", "account_id", "name", "color", "changed", "changed_by_id"
            )
        ),
        "label_count": Label.objects.count(),
        "user_roles": list(
            UserRole.objects.order_by("id").values_list(
                "id", "user_id", "role_id", "tier", "team_id", "target_id"
            )
        ),
        "api_keys": list(ApiKey.objects.order_by("id").values_list("id", "user_id", "digest")),
    }


def assert_json(response, status: int, body: dict) -> None:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    assert response.json() == body


def as_json(data) -> dict:
    """A JSON body; `json.dumps` escapes non-ASCII, so lone surrogates travel as `\\ud800`."""
    return {"data": json.dumps(data).encode(), "content_type": JSON}


def raw(data: bytes, content_type: str = JSON, **extra) -> dict:
    return {"data": data, "content_type": content_type, **extra}


def as_form(query: str | bytes) -> dict:
    return raw(query.encode() if isinstance(query, str) else query, FORM)


def as_multipart(fields: dict) -> dict:
    return raw(encode_multipart(BOUNDARY, fields), MULTIPART_CONTENT)


def multipart_field(name: str, value: bytes) -> dict:
    """A multipart body of one field whose value is sent as these exact bytes."""
    return raw(
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n--%s--\r\n'
        % (BOUNDARY.encode(), name.encode(), value, BOUNDARY.encode()),
        MULTIPART_CONTENT,
    )


def labels(count: int) -> list[dict]:
    return [{"name": f"label-{i}", "color": ""} for i in range(count)]


def unsupported(media_type: str) -> dict:
    return {"detail": f'Unsupported media type "{media_type}" in request.'}


def parse_error(message: str) -> dict:
    return {"detail": f"JSON parse error - {message}"}


@pytest.fixture
def client(admin_client):
    admin_client.raise_request_exception = False
    return admin_client


def patch(client, user, request: dict):
    return client.generic("PATCH", url(user), **request)


REFUSED = [
    # 1. Malformed bodies.
    pytest.param(
        raw(b'{"name":'),
        400,
        parse_error("Expecting value: line 1 column 9 (char 8)"),
        id="01-truncated-json",
    ),
    pytest.param(
        raw(b'{"name": "a"} x'),
        400,
        parse_error("Extra data: line 1 column 15 (char 14)"),
        id="01-trailing-garbage",
    ),
    pytest.param(
        raw(b'\xef\xbb\xbf{"name": "a"}'),
        400,
        parse_error("Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)"),
        id="01-byte-order-mark",
    ),
    pytest.param(
        raw(b"garbage", "multipart/form-data"),
        400,
        {"detail": "Multipart form parse error - Invalid boundary in multipart: None"},
        id="01-multipart-without-boundary",
    ),
    # 2. Invalid UTF-8.
    pytest.param(
        raw(b'{"name": "\xff"}'),
        400,
        parse_error("'utf-8' codec can't decode byte 0xff in position 10: invalid start byte"),
        id="02-invalid-utf8-json",
    ),
    pytest.param(
        raw(b'{"name": "\xc0\xaf"}'),
        400,
        parse_error("'utf-8' codec can't decode byte 0xc0 in position 10: invalid start byte"),
        id="02-overlong-utf8-json",
    ),
    pytest.param(as_form(b"name=a%FFb"), 400, FORM_NOT_UTF8, id="02-invalid-utf8-form-escaped"),
    pytest.param(as_form(b"name=a\xffb"), 400, FORM_NOT_UTF8, id="02-invalid-utf8-form-raw"),
    pytest.param(
        multipart_field("name", b"a\xffb"), 400, MULTIPART_NOT_UTF8, id="02-invalid-utf8-multipart"
    ),
    # 3. Non-finite numbers.
    pytest.param(
        raw(b'{"name": NaN}'),
        400,
        parse_error("Out of range float values are not JSON compliant: 'NaN'"),
        id="03-nan",
    ),
    pytest.param(
        raw(b'{"name": Infinity}'),
        400,
        parse_error("Out of range float values are not JSON compliant: 'Infinity'"),
        id="03-infinity",
    ),
    pytest.param(
        raw(b'{"active": -Infinity}'),
        400,
        parse_error("Out of range float values are not JSON compliant: '-Infinity'"),
        id="03-minus-infinity",
    ),
    pytest.param(raw(b'{"active": 1e999}'), 400, NOT_A_BOOLEAN, id="03-overflowing-float"),
    # 4. Huge integer.
    pytest.param(
        raw(b'{"name": ' + b"1" * 5000 + b"}"),
        400,
        parse_error(
            "Exceeds the limit (4300 digits) for integer string conversion: value has 5000 "
            "digits; use sys.set_int_max_str_digits() to increase the limit"
        ),
        id="04-integer-of-5000-digits",
    ),
    # 5. Lone surrogates.
    pytest.param(
        as_json({"name": "\ud800"}),
        400,
        {"name": ["Surrogate characters are not allowed: U+D800."]},
        id="05-surrogate-in-name",
    ),
    pytest.param(
        as_json({"labels": [{"name": "\udfff", "color": ""}]}),
        400,
        {"labels": {"0": {"name": ["Surrogate characters are not allowed: U+DFFF."]}}},
        id="05-surrogate-in-label-name",
    ),
    pytest.param(
        as_json({"labels": [{"name": "x", "color": "\ud800"}]}),
        400,
        {"labels": {"0": {"color": PATTERN}}},
        id="05-surrogate-in-label-color",
    ),
    pytest.param(
        as_json({"title": "\ud800"}),
        400,
        {"title": ["Surrogate characters are not allowed: U+D800."]},
        id="05-surrogate-in-title",
    ),
    # 6. NUL.
    pytest.param(as_json({"name": "a\x00b"}), 400, {"name": CONTROL_CHARACTERS}, id="06-nul-name"),
    pytest.param(
        as_json({"labels": [{"name": "a\x00", "color": ""}]}),
        400,
        {"labels": {"0": {"name": CONTROL_CHARACTERS}}},
        id="06-nul-label-name",
    ),
    pytest.param(
        as_json({"labels": [{"name": "x", "color": "#00\x00"}]}),
        400,
        {"labels": {"0": {"color": PATTERN}}},
        id="06-nul-label-color",
    ),
    pytest.param(
        as_json({"title": "\x00"}),
        400,
        {"title": ['"\x00" is not a valid choice.']},
        id="06-nul-title",
    ),
    pytest.param(as_form("name=a%00b"), 400, {"name": CONTROL_CHARACTERS}, id="06-nul-name-form"),
    # 7. Control and format characters (Unicode categories Cc and Cf).
    pytest.param(
        as_json({"name": "a\u202eb"}), 400, {"name": CONTROL_CHARACTERS}, id="07-bidi-override"
    ),
    pytest.param(
        as_json({"name": "a\u200db"}), 400, {"name": CONTROL_CHARACTERS}, id="07-zero-width-joiner"
    ),
    pytest.param(
        as_json({"name": "a\u200bb"}), 400, {"name": CONTROL_CHARACTERS}, id="07-zero-width-space"
    ),
    pytest.param(as_json({"name": "a\x07b"}), 400, {"name": CONTROL_CHARACTERS}, id="07-bell"),
    pytest.param(as_json({"name": "a\nb"}), 400, {"name": CONTROL_CHARACTERS}, id="07-newline"),
    pytest.param(
        as_json({"labels": [{"name": "x\u202e", "color": ""}]}),
        400,
        {"labels": {"0": {"name": CONTROL_CHARACTERS}}},
        id="07-bidi-override-in-label-name",
    ),
    # 7. ... also at either end of a value, where whitespace trimming would drop them unseen.
    *(
        pytest.param(as_json({"name": name}), 400, {"name": CONTROL_CHARACTERS}, id=f"07-edge-{i}")
        for i, name in [
            ("leading-unit-separator", "\u001fabc"),
            ("trailing-record-separator", "abc\u001e"),
            ("trailing-next-line", "abc\u0085"),
            ("leading-tab", "\tabc"),
            ("trailing-newline", "abc\n"),
        ]
    ),
    pytest.param(as_form("name=%1Fabc"), 400, {"name": CONTROL_CHARACTERS}, id="07-edge-form"),
    pytest.param(
        as_json({"labels": [{"name": "a" * 255 + "\u001e", "color": ""}]}),
        400,
        {"labels": {"0": {"name": CONTROL_CHARACTERS}}},
        id="07-edge-label-name-of-256",
    ),
    pytest.param(
        as_form("labels[0]name=%1Eci&labels[0]color="),
        400,
        {"labels": {"0": {"name": CONTROL_CHARACTERS}}},
        id="07-edge-label-name-form",
    ),
    # 8. Deep nesting.
    pytest.param(
        raw(b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
        400,
        parse_error("nested too deeply."),
        id="08-arrays-5000-deep",
    ),
    pytest.param(
        raw(b'{"a":' * 5000 + b"1" + b"}" * 5000),
        400,
        parse_error("nested too deeply."),
        id="08-objects-5000-deep",
    ),
    # 9. Body too large (DATA_UPLOAD_MAX_MEMORY_SIZE is 2.5 MB), or of an unreadable size.
    pytest.param(
        raw(b'{"name": "' + b"a" * 3 * 1024 * 1024 + b'"}'),
        413,
        {"detail": "Request body is too large."},
        id="09-json-of-3mb",
    ),
    pytest.param(
        as_form("name=" + "a" * 3 * 1024 * 1024),
        413,
        {"detail": "Request body is too large."},
        id="09-form-of-3mb",
    ),
    pytest.param(
        as_multipart({"name": "a" * 3 * 1024 * 1024}),
        413,
        {"detail": "Request body is too large."},
        id="09-multipart-of-3mb",
    ),
    pytest.param(
        raw(b"{}", CONTENT_LENGTH="abc"),
        400,
        {"detail": "Bad request."},
        id="09-content-length-not-a-number",
    ),
    # 10. Too many labels.
    pytest.param(as_json({"labels": labels(101)}), 400, TOO_MANY_LABELS, id="10-101-labels"),
    pytest.param(as_json({"labels": labels(10_000)}), 400, TOO_MANY_LABELS, id="10-10000-labels"),
    pytest.param(
        as_form("&".join(f"labels[{i}]name=l{i}&labels[{i}]color=" for i in range(101))),
        400,
        TOO_MANY_LABELS,
        id="10-101-labels-form",
    ),
    pytest.param(
        as_form("&".join(f"labels[{i}]name=l{i}&labels[{i}]color=" for i in range(10_000))),
        400,
        FORM_TOO_MANY_FIELDS,
        id="10-10000-labels-form",
    ),
    pytest.param(
        as_multipart({f"f{i}": "" for i in range(1001)}),
        400,
        FORM_TOO_MANY_FIELDS,
        id="10-1001-fields-multipart",
    ),
    # 11. Name longer than 60 code points, whatever their UTF-8 size or grapheme count.
    pytest.param(
        as_json({"name": "\U0001f600" * 61}),
        400,
        {"name": ["Ensure this field has no more than 60 characters."]},
        id="11-61-emoji",
    ),
    pytest.param(
        as_json({"name": "e\u0301" * 31}),
        400,
        {"name": ["Ensure this field has no more than 60 characters."]},
        id="11-31-graphemes-of-62-code-points",
    ),
    # 12. Label name longer than 255.
    pytest.param(
        as_json({"labels": [{"name": "a" * 256, "color": ""}]}),
        400,
        {"labels": {"0": {"name": ["Ensure this field has no more than 255 characters."]}}},
        id="12-label-name-of-256",
    ),
    # 13. Top level not an object.
    *(
        pytest.param(
            as_json(body),
            400,
            {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]},
            id=f"13-top-level-{kind}",
        )
        for body, kind in [([], "list"), ("str", "str"), (42, "int"), (True, "bool")]
    ),
    pytest.param(as_json(None), 400, {"non_field_errors": ["No data provided"]}, id="13-null"),
    # 15. Not JSON, form or multipart.
    *(
        pytest.param(raw(b'{"name": "a"}', media_type), 415, unsupported(media_type), id=f"15-{i}")
        for i, media_type in [
            ("text-plain", "text/plain"),
            ("missing", ""),
            ("octet-stream", "application/octet-stream"),
            ("xml", "application/xml"),
        ]
    ),
    # 16. Null.
    pytest.param(as_json({"name": None}), 400, {"name": NOT_NULL}, id="16-null-name"),
    pytest.param(as_json({"title": None}), 400, {"title": NOT_NULL}, id="16-null-title"),
    pytest.param(as_json({"labels": None}), 400, {"labels": NOT_NULL}, id="16-null-labels"),
    pytest.param(
        as_json({"labels": [{"name": None, "color": ""}]}),
        400,
        {"labels": {"0": {"name": NOT_NULL}}},
        id="16-null-label-name",
    ),
    # 17. Blank names (whitespace is trimmed first).
    pytest.param(as_json({"name": ""}), 400, {"name": BLANK}, id="17-empty-name"),
    pytest.param(as_json({"name": "   "}), 400, {"name": BLANK}, id="17-spaces-name"),
    pytest.param(as_json({"name": "  \u3000 "}), 400, {"name": BLANK}, id="17-whitespace-name"),
    pytest.param(
        as_json({"name": "\t\n "}), 400, {"name": CONTROL_CHARACTERS}, id="17-control-whitespace"
    ),
    pytest.param(as_form("name="), 400, {"name": BLANK}, id="17-empty-name-form"),
    pytest.param(
        as_json({"labels": [{"name": " ", "color": ""}]}),
        400,
        {"labels": {"0": {"name": BLANK}}},
        id="17-blank-label-name",
    ),
    # 18. Wrong types: no coercion to string.
    *(
        pytest.param(as_json({"name": value}), 400, {"name": NOT_A_STRING}, id=f"18-name-{i}")
        for i, value in [
            ("int", 123),
            ("float", 1.5),
            ("bool", True),
            ("object", {}),
            ("list", ["a"]),
        ]
    ),
    pytest.param(
        as_json({"title": 123}), 400, {"title": ['"123" is not a valid choice.']}, id="18-title-int"
    ),
    pytest.param(
        as_json({"title": "king"}),
        400,
        {"title": ['"king" is not a valid choice.']},
        id="18-title-not-in-enum",
    ),
    pytest.param(
        as_json({"labels": [{"name": 1, "color": 2}]}),
        400,
        {"labels": {"0": {"name": NOT_A_STRING, "color": NOT_A_STRING}}},
        id="18-label-int-name-and-color",
    ),
    # 19. Lenient booleans; 20. not a boolean at all.
    *(
        pytest.param(as_json({"active": value}), 400, NOT_A_BOOLEAN, id=f"19-active-{value!r}")
        for value in ["yes", "on", "1", "0", "off", "no", 1, 0, 1.0]
    ),
    pytest.param(as_form("active=yes"), 400, NOT_A_BOOLEAN, id="19-active-yes-form"),
    pytest.param(as_json({"active": "maybe"}), 400, NOT_A_BOOLEAN, id="20-active-maybe"),
    pytest.param(as_json({"active": ""}), 400, NOT_A_BOOLEAN, id="20-active-empty-string"),
    pytest.param(as_json({"active": None}), 400, {"active": NOT_NULL}, id="20-active-null"),
    # 21. Labels not a list.
    *(
        pytest.param(
            as_json({"labels": value}),
            400,
            {"labels": {"non_field_errors": [f'Expected a list of items but got type "{kind}".']}},
            id=f"21-labels-{kind}",
        )
        for value, kind in [("x", "str"), ({}, "dict"), (5, "int"), (True, "bool")]
    ),
    # 22. Label items not objects.
    pytest.param(
        as_json({"labels": [1, "a", None]}),
        400,
        {
            "labels": {
                "0": {"non_field_errors": ["Invalid data. Expected a dictionary, but got int."]},
                "1": {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]},
                "2": NOT_NULL,
            }
        },
        id="22-label-items-not-objects",
    ),
    # 23. Label items need both name and color, in PATCH too.
    pytest.param(
        as_json({"labels": [{}]}),
        400,
        {"labels": {"0": {"name": REQUIRED, "color": REQUIRED}}},
        id="23-empty-label",
    ),
    pytest.param(
        as_json({"labels": [{"color": "#000000"}]}),
        400,
        {"labels": {"0": {"name": REQUIRED}}},
        id="23-label-without-name",
    ),
    pytest.param(
        as_json({"labels": [{"name": "x"}]}),
        400,
        {"labels": {"0": {"color": REQUIRED}}},
        id="23-label-without-color",
    ),
    pytest.param(
        as_json({"labels": [{"name": "x", "color": ""}, {"name": "y"}]}),
        400,
        {"labels": {"1": {"color": REQUIRED}}},
        id="23-only-the-failing-item-is-reported",
    ),
    pytest.param(
        as_form("labels[0]name=x&labels[1]color="),
        400,
        {"labels": {"0": {"color": REQUIRED}, "1": {"name": REQUIRED}}},
        id="23-incomplete-labels-form",
    ),
    # 24. Colors outside ^[a-zA-Z0-9#_-]*$.
    *(
        pytest.param(
            as_json({"labels": [{"name": "x", "color": color}]}),
            400,
            {"labels": {"0": {"color": PATTERN}}},
            id=f"24-color-{color!r}",
        )
        for color in ["#00FF00;drop", "#00 FF00", "rgb(0,0,0)", "caf\u00e9", "#00FF00\n", " "]
    ),
    pytest.param(
        as_json({"labels": [{"name": "x", "color": None}]}),
        400,
        {"labels": {"0": {"color": NOT_NULL}}},
        id="24-color-null",
    ),
    # 24b. Colours longer than 255 characters (each one would be copied into every answer
    # that lists a user carrying the label).
    pytest.param(
        as_json({"labels": [{"name": "x", "color": "a" * 256}]}),
        400,
        COLOR_TOO_LONG,
        id="24-color-of-256",
    ),
    pytest.param(
        as_json({"labels": [{"name": "x", "color": "a" * 2_400_000}]}),
        400,
        COLOR_TOO_LONG,
        id="24-color-of-2.4mb",
    ),
    pytest.param(
        as_form("labels[0]name=x&labels[0]color=" + "a" * 256),
        400,
        COLOR_TOO_LONG,
        id="24-color-of-256-form",
    ),
    # 25. Duplicate label names in one request, also after trimming.
    pytest.param(
        as_json({"labels": [{"name": "x", "color": ""}, {"name": "x", "color": "#000000"}]}),
        400,
        DUPLICATE_LABELS,
        id="25-duplicate-new-label",
    ),
    pytest.param(
        as_json({"labels": [{"name": "ci", "color": ""}, {"name": " ci ", "color": ""}]}),
        400,
        DUPLICATE_LABELS,
        id="25-duplicate-existing-label-after-trimming",
    ),
    pytest.param(
        as_form("labels[0]name=x&labels[0]color=&labels[1]name=x&labels[1]color="),
        400,
        DUPLICATE_LABELS,
        id="25-duplicate-label-form",
    ),
    # 32. Duplicate keys: the last one wins, also when it is the bad one.
    pytest.param(
        raw(b'{"name": "b", "name": 1}'), 400, {"name": NOT_A_STRING}, id="32-last-key-is-bad"
    ),
    # 38. multipart/form `labels` as a JSON string; 39. other form syntaxes than labels[0]name.
    pytest.param(as_form("labels=%5Bx"), 400, FORM_LABELS, id="38-labels-not-json-form"),
    pytest.param(
        as_multipart({"labels": '[{"name": "x"', "labels[0]name": "y"}),
        400,
        FORM_LABELS,
        id="38-labels-json-and-rows-multipart",
    ),
    pytest.param(
        as_multipart({"labels[0].name": "x", "labels[0].color": "#000000"}),
        400,
        FORM_LABELS,
        id="39-dotted-multipart",
    ),
    pytest.param(
        as_form("labels[0].name=x&labels[0].color="), 400, FORM_LABELS, id="39-dotted-form"
    ),
    pytest.param(
        as_multipart({"labels[0][name]": "x", "labels[0][color]": "#000000"}),
        400,
        FORM_LABELS,
        id="39-bracketed-multipart",
    ),
    pytest.param(
        as_form("labels[-1]name=x&labels[-1]color="), 400, FORM_LABELS, id="39-negative-index"
    ),
    pytest.param(
        as_form("labels[1000]name=x&labels[1000]color="), 400, FORM_LABELS, id="39-index-1000"
    ),
    pytest.param(
        as_form(f"labels[{'9' * 5000}]name=x&labels[{'9' * 5000}]color="),
        400,
        FORM_LABELS,
        id="39-index-of-5000-digits",
    ),
    # 40. File parts: no field takes a file, so a multipart body that carries one is refused.
    pytest.param(
        as_multipart({"name": "renamed", "file": SimpleUploadedFile("a.bin", b"abc")}),
        400,
        MULTIPART_FILE,
        id="40-file-part",
    ),
    pytest.param(
        as_multipart({"name": SimpleUploadedFile("name.txt", b"renamed", "text/plain")}),
        400,
        MULTIPART_FILE,
        id="40-name-as-a-file-part",
    ),
    # 41. JSON in another charset than UTF-8.
    *(
        pytest.param(
            raw(body, f"{JSON}; charset={charset}"),
            415,
            unsupported(f"{JSON}; charset={charset}"),
            id=f"41-charset-{charset}",
        )
        for charset, body in [
            ("latin-1", '{"name": "café"}'.encode()),
            ("iso-8859-1", '{"name": "café"}'.encode("latin-1")),
            ("utf-16", '{"name": "café"}'.encode("utf-16")),
            ("bogus", '{"name": "café"}'.encode()),
        ]
    ),
]


@pytest.mark.parametrize(("request_", "status", "body"), REFUSED)
def test_bad_input_gets_a_json_4xx_and_changes_nothing(client, api_user, request_, status, body):
    before = database_state()

    response = patch(client, api_user, request_)

    assert_json(response, status, body)
    assert database_state() == before


IGNORED = [
    # 14. No body at all, or an empty one: a no-op.
    pytest.param(raw(b""), id="14-empty-json-body"),
    pytest.param(as_json({}), id="14-empty-object"),
    pytest.param(as_form(""), id="14-empty-form-body"),
    pytest.param(as_multipart({}), id="14-empty-multipart-body"),
    # 27-29. Roles are not written by this endpoint, whatever their ids or scopes.
    pytest.param(
        as_json(
            {
                "user_roles": [
                    {"role": {"id": "0OIl0OIl0OIl"}, "scope": {"tier": "team"}},
                    {"role": {"id": "x" * 10_240}, "scope": {"tier": "account", "target": {}}},
                    {"role": {"name": "Owner"}, "scope": {"tier": "account"}},
                ]
            }
        ),
        id="27-29-user-roles",
    ),
    pytest.param(as_json({"user_roles": []}), id="27-29-empty-user-roles"),
    pytest.param(as_json({"role": "x" * 10_240, "roles": ["0OIl0OIl0OIl"]}), id="27-role-ids"),
    # 30. Read-only fields.
    pytest.param(
        as_json(
            {
                "id": "XXXXXXXXXXXX",
                "key": "k",
                "api_key": "k",
                "changed": "2020-01-01T00:00:00Z",
                "changed_by": {"id": "XXXXXXXXXXXX"},
                "is_apiuser": False,
            }
        ),
        id="30-read-only-fields",
    ),
    # 31. Unknown fields.
    pytest.param(
        as_json(
            {
                "role": "admin",
                "is_superuser": True,
                "is_staff": True,
                "email": "bot@example.com",
                "account": "XXXXXXXXXXXX",
                "password": "secret",
            }
        ),
        id="31-unknown-fields",
    ),
    pytest.param(as_form("is_superuser=true&is_staff=true"), id="31-unknown-fields-form"),
]


@pytest.mark.parametrize("request_", IGNORED)
def test_ignored_input_answers_the_unchanged_user_and_changes_nothing(client, api_user, request_):
    before = database_state()

    response = patch(client, api_user, request_)

    assert_json(response, 200, client.get(url(api_user)).json())
    assert database_state() == before


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(raw(b'{"name": "a", "name": "b"}'), id="json"),
        pytest.param(raw(b'{"name": 1, "name": "b"}'), id="json-first-is-bad"),
        pytest.param(as_form("name=a&name=b"), id="form"),
    ],
)
def test_duplicate_keys_last_one_wins(client, api_user, request_):
    response = patch(client, api_user, request_)

    assert_json(response, 200, client.get(url(api_user)).json())
    assert User.objects.get(pk=api_user.pk).name == "b"


@pytest.mark.parametrize("color", ["red", "", "#GGGGGG", "#00ff00", "dark_blue-2"])
def test_any_color_of_the_documented_pattern_is_accepted(client, account, api_user, color):
    response = patch(client, api_user, as_json({"labels": [{"name": "new", "color": color}]}))

    assert_json(response, 200, client.get(url(api_user)).json())
    assert Label.objects.get(account=account, name="new").color == color


@pytest.mark.parametrize(
    ("body", "check"),
    [
        pytest.param({"name": "\U0001f600" * 60}, lambda user: len(user.name) == 60, id="name"),
        pytest.param({"labels": labels(100)}, lambda user: user.labels.count() == 100, id="labels"),
        pytest.param(
            {"labels": [{"name": "a" * 255, "color": ""}]},
            lambda user: user.labels.get().name == "a" * 255,
            id="label-name",
        ),
        pytest.param(
            {"labels": [{"name": "x", "color": "a" * 255}]},
            lambda user: user.labels.get().color == "a" * 255,
            id="label-color",
        ),
    ],
)
def test_values_at_the_limits_are_accepted(client, api_user, body, check):
    response = patch(client, api_user, as_json(body))

    assert_json(response, 200, client.get(url(api_user)).json())
    assert check(User.objects.get(pk=api_user.pk))


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(
            as_form("labels[0]name=x&labels[0]color=%2300FF00&labels[1]name=ci&labels[1]color=red"),
            id="form",
        ),
        pytest.param(
            as_multipart(
                {
                    "labels[0]name": "x",
                    "labels[0]color": "#00FF00",
                    "labels[1]name": "ci",
                    "labels[1]color": "red",
                }
            ),
            id="multipart",
        ),
    ],
)
def test_documented_form_label_syntax_is_accepted(client, account, api_user, request_):
    response = patch(client, api_user, request_)

    assert_json(response, 200, client.get(url(api_user)).json())
    assert sorted(api_user.labels.values_list("name", "color")) == [
        ("ci", "#00FF00"),
        ("x", "#00FF00"),
    ]


# Paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/api-users/0OIl0OIl0OIl/", id="33-not-base58"),
        pytest.param("/api-users/aaaaaaaaaaaaa/", id="33-13-characters"),
        pytest.param("/api-users/aaaaaaaaaaa/", id="33-11-characters"),
        pytest.param("/api-users/%00/", id="33-nul"),
        pytest.param(f"/api-users/{'a' * 10_240}/", id="33-10kb"),
        pytest.param("/api-users/zzzzzzzzzzzz/", id="33-well-formed-but-missing"),
        pytest.param("/api-users/abc", id="34-no-trailing-slash"),
    ],
)
@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_bad_path_is_a_json_404_and_changes_nothing(client, api_user, settings, path, debug):
    settings.DEBUG = debug
    before = database_state()

    response = client.generic("PATCH", path, **as_json({"name": "renamed"}))

    assert_json(response, 404, NOT_FOUND)
    assert database_state() == before


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_path_without_trailing_slash_is_a_json_404_not_a_redirect(
    client, api_user, settings, debug
):
    settings.DEBUG = debug
    before = database_state()

    response = client.generic("PATCH", url(api_user).rstrip("/"), **as_json({"name": "renamed"}))

    assert_json(response, 404, NOT_FOUND)
    assert database_state() == before


def test_foreign_id_in_the_path_is_a_json_404_and_changes_nothing(client, foreign_api_user):
    before = database_state()

    response = patch(client, foreign_api_user, as_json({"name": "renamed"}))

    assert_json(response, 404, NOT_FOUND)
    assert database_state() == before


# Authentication ----------------------------------------------------------------------------


def anonymous_client(**credentials) -> APIClient:
    client = APIClient()
    client.raise_request_exception = False
    client.credentials(**credentials)
    return client


def test_missing_authorization_header_is_a_401(api_user):
    before = database_state()

    response = patch(anonymous_client(), api_user, as_json({"name": "renamed"}))

    assert_json(response, 401, NO_CREDENTIALS)
    assert response["WWW-Authenticate"] == "JWT"
    assert database_state() == before


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(lambda key, prefix: "Bearer x", id="bearer"),
        pytest.param(lambda key, prefix: f"Bearer {key}", id="bearer-with-a-valid-key"),
        pytest.param(lambda key, prefix: f"Token {key}", id="token-with-a-valid-key"),
        pytest.param(lambda key, prefix: key, id="key-without-keyword"),
        pytest.param(lambda key, prefix: "JWT", id="keyword-without-key"),
        pytest.param(lambda key, prefix: "JWT ", id="keyword-and-space"),
        pytest.param(lambda key, prefix: "JWT a b", id="three-words"),
        pytest.param(lambda key, prefix: f"JWT  {key}", id="two-spaces"),
        pytest.param(lambda key, prefix: f"JWT {key} ", id="trailing-space"),
        pytest.param(lambda key, prefix: f"JWT {key}x", id="key-with-an-extra-character"),
        pytest.param(lambda key, prefix: f"JWT {key}\x00", id="key-with-nul"),
        pytest.param(lambda key, prefix: "JWT caf\xe9", id="latin-1-byte"),
        # What a WSGI server hands over for the UTF-8 bytes of "é" (headers are latin-1).
        pytest.param(lambda key, prefix: "JWT caf\xc3\xa9", id="utf-8-bytes"),
        pytest.param(lambda key, prefix: "JWT " + "a" * 10_240, id="10kb"),
        pytest.param(lambda key, prefix: f"JWT {redact(prefix)}", id="redacted-key"),
        pytest.param(lambda key, prefix: f"JWT {prefix}.{'2' * 40}", id="wrong-secret"),
        pytest.param(lambda key, prefix: f"JWT 11111111.{'1' * 40}", id="unknown-key"),
    ],
)
def test_malformed_or_unknown_credentials_are_a_401(admin, api_user, header):
    key = admin[1]
    client = anonymous_client(HTTP_AUTHORIZATION=header(key, key.split(".")[0]))
    before = database_state()

    response = patch(client, api_user, as_json({"name": "renamed"}))

    assert_json(response, 401, BAD_CREDENTIALS)
    assert response["WWW-Authenticate"] == "JWT"
    assert database_state() == before


def test_valid_key_of_an_inactive_api_user_is_a_401(account, api_user):
    _, key = api_user_with_key(account, "Admin", active=False)
    before = database_state()

    response = patch(anonymous_client(HTTP_AUTHORIZATION=f"JWT {key}"), api_user, as_json({}))

    assert_json(response, 401, BAD_CREDENTIALS)
    assert response["WWW-Authenticate"] == "JWT"
    assert database_state() == before


# Bounds -------------------------------------------------------------------------------------


def unbounded(schema: dict, node: dict, where: str):
    """The places in a request schema that take a string without a maximum length (or a
    fixed set of values) or a list without a maximum number of items."""
    while "$ref" in node or len(node.get("allOf", [])) == 1:
        ref = node["$ref"] if "$ref" in node else node["allOf"][0]["$ref"]
        node = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    if node.get("type") == "string" and "maxLength" not in node and "enum" not in node:
        yield where
    if node.get("type") == "array":
        if "maxItems" not in node:
            yield where
        yield from unbounded(schema, node["items"], f"{where}[]")
    for name, child in node.get("properties", {}).items():
        yield from unbounded(schema, child, f"{where}.{name}")


def test_every_request_body_states_a_bound_for_every_string_and_list():
    schema = yaml.safe_load((Path(__file__).parent.parent / "schema/openapi.yaml").read_text())
    bodies = {
        f"{method.upper()} {path} {media_type}": content["schema"]
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items()
    }

    assert len(bodies) > 20
    assert [where for name, body in bodies.items() for where in unbounded(schema, body, name)] == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            as_multipart({"labels": '[{"name": "x", "color": "#000000"}]'}), id="multipart"
        ),
        pytest.param(
            as_form('labels=[{"name": "x", "color": "%23000000"}]'.replace(" ", "")), id="form"
        ),
    ],
)
def test_a_form_body_may_hold_labels_as_one_json_array(admin_client, api_user, body):
    """What Swagger UI and generated clients send for an array of objects in a form body."""
    response = admin_client.patch(url(api_user), **body)

    assert response.status_code == 200, response.content
    assert [(label["name"], label["color"]) for label in response.json()["labels"]] == [
        ("x", "#000000")
    ]


def test_json_labels_in_a_form_body_are_validated_like_json_ones(admin_client, api_user):
    response = admin_client.patch(
        url(api_user), **as_multipart({"labels": '[{"name": "x"}, {"name": "y", "color": "red"}]'})
    )

    assert (response.status_code, response.json()) == (
        400,
        {"labels": {"0": {"color": ["This field is required."]}}},
    )
    assert sorted(api_user.labels.values_list("name", flat=True)) == ["ci", "prod"]


def test_an_empty_labels_value_in_a_form_body_is_not_sent(admin_client, api_user):
    response = admin_client.patch(url(api_user), **as_form("labels=&name=renamed"))

    assert response.status_code == 200
    assert [label["name"] for label in response.json()["labels"]] == ["ci", "prod"]


def test_a_multipart_body_of_no_readable_part_is_a_400(admin_client, api_user):
    """Django skips bytes that are not a well-formed part; such a body is not an empty form."""
    junk = f"--{BOUNDARY}\r\n-10124--{BOUNDARY}--\r\n".encode()

    response = admin_client.patch(url(api_user), **raw(junk, MULTIPART_CONTENT))

    assert (response.status_code, response.json()) == (
        400,
        {"detail": "Multipart form parse error - the body holds no part that could be read."},
    )
    assert User.objects.get(pk=api_user.pk).name == "ci-bot"


def test_an_empty_multipart_form_changes_nothing(admin_client, api_user):
    response = admin_client.patch(
        url(api_user), **raw(encode_multipart(BOUNDARY, {}), MULTIPART_CONTENT)
    )

    assert response.status_code == 200
    assert response.json()["name"] == "ci-bot"
