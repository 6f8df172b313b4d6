"""The documentation of the API users' operations: summaries, descriptions and answers."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view

from ..filters.backends import (
    MAX_ORDERING_FIELDS,
    MAX_SEARCH_LENGTH,
    MAX_SEARCH_TERMS,
    MAX_VALUES,
)
from ..serializers.api_users import (
    ApiUserBulkUpdateInputSerializer,
    ApiUserCreateFormInputSerializer,
    ApiUserCreateInputSerializer,
    ApiUserOutputSerializer,
    ApiUserUpdateInputSerializer,
    BulkUpdateResultOutputSerializer,
    ChangeOutputSerializer,
    CreatedApiUserOutputSerializer,
    KeyStatusOutputSerializer,
    ListedApiUserOutputSerializer,
    RotatedKeyOutputSerializer,
)
from . import (
    FORBIDDEN_WRITE,
    INVALID_PAGE,
    STANDARD_ERRORS,
    VALIDATION_ERROR,
    WRITE_ERRORS,
)

LIST_DESCRIPTION = f"""\
The API users of the caller's account, a page at a time: `length` per page (10 by default, at \
most 100; a value that is not a positive integer means the default), `page` from 1.

A parameter sent empty (`label=`) is a parameter not sent, and an empty value among others \
(`label=a&label=`) is ignored.

**Filters** combine with AND. Array parameters repeat their key: `?label=a&label=b`.

* `label`: with `label_logical_operator=or` (the default), API users with any of these labels; \
with `and`, those with all of them.
* `role`: API users holding any of these roles, in any scope. `team` / `target`: API users with \
a role scoped to any of these teams / targets; `exclude_team` / `exclude_target`: API users with \
no role scoped to any of them. Each is a condition of its own: `role=A&team=T` asks for role A \
in some scope and some role on team T, not necessarily role A on team T.
* `account`: true for API users with a role at the account tier, false for those without. \
`no_access`: true for API users without any role, false for those with at least one.
* `mfa_enabled`: API users never have multi-factor authentication, so true answers an empty \
list and false filters nothing.
* `active`, `account`, `no_access`, `mfa_enabled` take `true` or `false`, in any case.

Ids in filters must be of the caller's account: any other id, of another account, of \
nothing or not even of an id's shape, is refused with the same 400.

**Search** (`search`): terms separated by spaces, matched case-insensitively within the name or \
within the name of any label; an API user matches when it matches every term, and appears once \
however many of its labels match.

**Ordering** (`ordering`): `name`, `changed` or `id`, prefixed with `-` for descending order, \
several separated by commas (`-changed,name`). Unknown fields are ignored. The default is \
`name`; the id always breaks ties, so that a page holds the same users from one request to \
the next.

**Exclude** (`exclude`): fields to leave out of every result, repeated or comma-separated \
(`exclude=labels,user_roles`). `id` cannot be excluded; any unknown name is a 400 that lists the \
names allowed.

**Limits**, so that a list costs little whatever it asks for: at most {MAX_SEARCH_TERMS} different \
search terms and {MAX_SEARCH_LENGTH} characters, {MAX_VALUES} different values per array parameter \
(ids, `exclude`) and {MAX_ORDERING_FIELDS} different ordering terms. A repeated value counts once \
(and a field named again in `ordering` is ignored); beyond a limit the answer is a 400 naming the \
parameter: `{{"search": ["At most {MAX_SEARCH_TERMS} search terms."]}}`.
"""

LABELS_SEMANTICS = (
    "`labels` replaces the user's whole label set (`[]` clears it). Each label is matched by "
    "name within the account: an existing label is reused with its colour unchanged, a new name "
    "creates a label. In form bodies, send labels as `labels[0]name=...&labels[0]color=...`; "
    "a row whose `name` and `color` are both empty is ignored (so a form whose rows are all "
    "empty clears the labels), and an error names a row by its index in the body; or send one "
    "`labels` value holding the JSON array, as Swagger UI does in a multipart body."
)
AUTHORITY = (
    "A caller acts only on API users whose permissions it holds itself (those of their roles, "
    "in any scope): an Admin never changes, deactivates, deletes or rotates the key of an "
    "Owner (403). The last active Owner of the account cannot be deactivated or deleted, even "
    "by itself (409). An API user deleted by a concurrent request before this one could "
    "change it answers 404. Nothing is changed by a refused request."
)
WRITE_SEMANTICS = (
    "Read-only and unknown keys are ignored. `title` is stored but is not part of the "
    "representation. `changed` and `changed_by` move, and a history entry is recorded, only "
    "when something really changes.\n\n" + AUTHORITY
)
NO_CONTENT = OpenApiResponse(description="Done; the answer has no body.")


documented = extend_schema_view(
    list=extend_schema(
        summary="List API Users",
        description=LIST_DESCRIPTION,
        responses={
            200: ListedApiUserOutputSerializer(many=True),
            400: VALIDATION_ERROR,
            **STANDARD_ERRORS,
            404: INVALID_PAGE,
        },
    ),
    retrieve=extend_schema(
        summary="Retrieve API User",
        description="An API user of the caller's account. Its key is shown redacted.",
        responses={200: ApiUserOutputSerializer, **STANDARD_ERRORS},
    ),
    create=extend_schema(
        summary="Create API User",
        description=(
            "Create an API user in the caller's account, with its labels and roles, and issue its "
            "key. The answer (201, with a `Location` header) is the only one that shows the "
            "full `key`: store it now.\n\n"
            + LABELS_SEMANTICS
            + "\n\nEach role is given in a scope (`account`, or a `team` or `target` of the "
            "caller's account); ids of another account are refused like missing ones. A caller "
            "grants only roles whose permissions it holds (403 otherwise). Roles are sent in JSON "
            "only: a form body with a `user_roles` key is a 400."
        ),
        request={
            "application/json": ApiUserCreateInputSerializer,
            "application/x-www-form-urlencoded": ApiUserCreateFormInputSerializer,
            "multipart/form-data": ApiUserCreateFormInputSerializer,
        },
        responses={
            201: CreatedApiUserOutputSerializer,
            400: VALIDATION_ERROR,
            **STANDARD_ERRORS,
            403: FORBIDDEN_WRITE,
        },
    ),
    update=extend_schema(
        summary="Update API User",
        description=(
            "Replace the writable fields of an API user: `name` and `labels` are required, an "
            "absent `active` is true, an absent `title` is left as it is.\n\n"
            + LABELS_SEMANTICS
            + "\n\n"
            + WRITE_SEMANTICS
        ),
        request=ApiUserUpdateInputSerializer,
        responses={200: ApiUserOutputSerializer, 400: VALIDATION_ERROR, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Partial Update API User",
        description=(
            "Change some fields of an API user; keys that are absent leave their field as it "
            "is.\n\n"
            + LABELS_SEMANTICS
            + "\n\n"
            + WRITE_SEMANTICS
            + " The answer is the representation a GET returns after the write."
        ),
        request=ApiUserUpdateInputSerializer,
        responses={200: ApiUserOutputSerializer, 400: VALIDATION_ERROR, **WRITE_ERRORS},
    ),
    destroy=extend_schema(
        summary="Delete API User",
        description=(
            "Delete an API user: its keys stop working within a second, and it no longer "
            "appears in any answer. Its history is kept, and what it changed still names "
            "it.\n\n" + AUTHORITY
        ),
        responses={204: NO_CONTENT, **WRITE_ERRORS},
    ),
    bulk_update=extend_schema(
        summary="Bulk Update API Users",
        description=(
            "Set the same fields on several API users of the caller's account, all or none: one "
            "unknown (or foreign) id or one invalid value changes nothing. Absent fields are "
            "left as they are.\n\n" + LABELS_SEMANTICS + "\n\n" + AUTHORITY
        ),
        request=ApiUserBulkUpdateInputSerializer,
        responses={
            200: BulkUpdateResultOutputSerializer,
            400: VALIDATION_ERROR,
            **{code: WRITE_ERRORS[code] for code in (401, 403, 409, 500)},
        },
    ),
    rotate_key=extend_schema(
        summary="Rotate API User Key",
        description=(
            "Issue a new key for the API user. The answer is the only one that shows the new "
            "full `key`. The replaced key keeps working for a grace period (the server's "
            "API_KEY_ROTATION_GRACE_SECONDS, 24 hours unless configured; 0 means it stops at "
            "once), so clients can switch without downtime; a key left from an earlier rotation "
            "stops now.\n\n" + AUTHORITY
        ),
        request=None,
        responses={201: RotatedKeyOutputSerializer, **STANDARD_ERRORS, 403: FORBIDDEN_WRITE},
    ),
    key=extend_schema(
        summary="Retrieve API User Key",
        description=(
            "The API user's key without its secret: its public prefix, when it was issued and "
            "last used, and the replaced key while its grace period after a rotation runs."
        ),
        responses={200: KeyStatusOutputSerializer, **STANDARD_ERRORS},
    ),
    history=extend_schema(
        summary="List API User History",
        description=(
            "Every change to the API user, its labels, roles and key, newest first: who made "
            "it, when, and each field from what to what."
        ),
        responses={200: ChangeOutputSerializer(many=True), **STANDARD_ERRORS},
    ),
)
tagged = extend_schema(tags=["API Users"])
