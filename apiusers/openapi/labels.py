"""The documentation of the user labels' operations."""

from drf_spectacular.utils import extend_schema, extend_schema_view

from ..serializers.common import LabelOutputSerializer
from ..serializers.labels import LabelWriteInputSerializer
from . import (
    FORBIDDEN,
    NOT_AUTHENTICATED,
    SERVER_ERROR,
    VALIDATION_ERROR,
    list_errors,
    object_errors,
)

WRITE_DESCRIPTION = (
    "The name must be unique within the account (exactly, case included): a name another "
    "label has is a 400. `changed` and `changed_by` move only when something really changes. "
    "The users carrying the label are not changed: they keep the same label, under its new "
    "name or colour. The answer is the representation a GET returns after the write."
)


def write_schema(summary: str, description: str):
    return extend_schema(
        summary=summary,
        description=f"{description} {WRITE_DESCRIPTION}",
        request=LabelWriteInputSerializer,
        responses={200: LabelOutputSerializer, 400: VALIDATION_ERROR, **object_errors("label")},
    )


documented = extend_schema_view(
    list=extend_schema(
        summary="List User Labels",
        description=(
            "The user labels of the caller's account, a page at a time, ordered by name unless "
            "`ordering` says otherwise."
        ),
        responses={200: LabelOutputSerializer(many=True), **list_errors("labels")},
    ),
    retrieve=extend_schema(
        summary="Retrieve User Label",
        description="One user label of the caller's account.",
        responses={200: LabelOutputSerializer, **object_errors("label")},
    ),
    create=extend_schema(
        summary="Create User Label",
        description=(
            "Create a label in the caller's account. `color` is optional and empty when not "
            "given. The name must be unique within the account (exactly, case included): a "
            "name another label has is a 400, also when a concurrent request took it first."
        ),
        request=LabelWriteInputSerializer,
        responses={
            201: LabelOutputSerializer,
            400: VALIDATION_ERROR,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            500: SERVER_ERROR,
        },
    ),
    update=write_schema(
        "Update User Label", "Replace a label: `name` is required, an absent `color` empties it."
    ),
    partial_update=write_schema(
        "Partial Update User Label",
        "Change the name or the colour of a label; an absent key leaves its field as it is.",
    ),
    destroy=extend_schema(
        summary="Delete User Label",
        description=(
            "Delete a label, removing it from every user that carries it. Each of those users "
            "counts as changed by the caller: its `changed` and `changed_by` move, and an API "
            "user's history records its labels from and to."
        ),
        responses={204: None, **object_errors("label")},
    ),
)
tagged = extend_schema(tags=["User Labels"])
