"""Roles, teams and targets: read-only lists of what a role assignment can name."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.permissions import IsAuthenticated

from .. import selectors
from ..filters import BoundedSearchFilter, StableOrderingFilter
from ..ids import ID_PATTERN
from ..openapi import STANDARD_ERRORS, VALIDATION_ERROR, detail_error
from ..pagination import PageNumberPagination
from ..permissions import CanManageApiUsers
from ..serializers.directory import RoleSerializer, TargetSerializer, TeamSerializer


def list_errors(noun: str) -> dict:
    """The errors a list answers: a bad `search`, and a `page` past the last one."""
    return {
        400: VALIDATION_ERROR,
        **STANDARD_ERRORS,
        404: detail_error("Invalid page.", f"The page asked for is past the last page of {noun}."),
    }


def object_errors(noun: str) -> dict:
    """The errors an operation on one object answers. An id of another account answers the
    same 404 as a missing one."""
    return {
        **STANDARD_ERRORS,
        404: detail_error("Not found.", f"No {noun} with this id that the caller can see."),
    }


class DirectoryViewSet(viewsets.GenericViewSet):
    """The base of the account's directory resources (and of user labels): read with
    `users.view` (Owner, Admin, Auditor, SecOps), written with `users.manage` (Owner, Admin);
    paginated, searched by name, ordered by name by default."""

    permission_classes = [IsAuthenticated, CanManageApiUsers]
    pagination_class = PageNumberPagination
    filter_backends = [BoundedSearchFilter, StableOrderingFilter]
    search_fields = ["name"]
    ordering_fields = ["name"]
    ordering = ["name"]
    lookup_value_regex = ID_PATTERN


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


@read_only_schema(
    singular="role",
    plural="roles",
    serializer=RoleSerializer,
    list_description=(
        "The roles that can be given to users and API users: the six built-in ones, the same "
        "in every account."
    ),
)
class RoleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DirectoryViewSet):
    serializer_class = RoleSerializer

    def get_queryset(self):
        return selectors.roles()


@read_only_schema(
    singular="team",
    plural="teams",
    serializer=TeamSerializer,
    list_description="The teams of the caller's account, which a role can be scoped to.",
)
class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DirectoryViewSet):
    serializer_class = TeamSerializer

    def get_queryset(self):
        return selectors.teams(self.request.user.account)


@read_only_schema(
    singular="target",
    plural="targets",
    serializer=TargetSerializer,
    list_description="The targets of the caller's account, which a role can be scoped to.",
)
class TargetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DirectoryViewSet):
    serializer_class = TargetSerializer
    ordering_fields = ["name", "url"]

    def get_queryset(self):
        return selectors.targets(self.request.user.account)
