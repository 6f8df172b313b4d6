"""The documentation of the read-only directory resources: roles, teams and targets."""

from drf_spectacular.utils import extend_schema, extend_schema_view

from . import list_errors, object_errors


def read_only_schema(*, singular: str, plural: str, serializer, list_description: str):
    """The documentation of a directory resource: its list and retrieve operations, tagged
    with the resource's plural name."""
    tags = [plural.title()]
    return extend_schema_view(
        list=extend_schema(
            tags=tags,
            summary=f"List {plural.title()}",
            description=list_description,
            responses={200: serializer(many=True), **list_errors(plural)},
        ),
        retrieve=extend_schema(
            tags=tags,
            summary=f"Retrieve {singular.title()}",
            description=f"One {singular} by id.",
            responses={200: serializer, **object_errors(singular)},
        ),
    )
