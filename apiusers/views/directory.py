"""Roles, teams and targets: read-only lists of what a role assignment can name."""

from rest_framework import mixins

from ..filters.backends import BoundedSearchFilter, StableOrderingFilter
from ..openapi.directory import read_only_schema
from ..serializers.directory import (
    RoleOutputSerializer,
    TargetOutputSerializer,
    TeamOutputSerializer,
)
from .base import AccountScopedViewSet


class DirectoryViewSet(AccountScopedViewSet):
    """The base of the account's directory resources (and of user labels): read with
    `users.view` (Owner, Admin, Auditor, SecOps), written with `users.manage` (Owner, Admin);
    paginated, searched by name, ordered by name by default."""

    filter_backends = [BoundedSearchFilter, StableOrderingFilter]
    search_fields = ["name"]
    ordering_fields = ["name"]
    ordering = ["name"]


@read_only_schema(
    singular="role",
    plural="roles",
    serializer=RoleOutputSerializer,
    list_description=(
        "The roles that can be given to users and API users: the six built-in ones, the same "
        "in every account."
    ),
)
class RoleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DirectoryViewSet):
    selector = "roles"
    serializer_class = RoleOutputSerializer


@read_only_schema(
    singular="team",
    plural="teams",
    serializer=TeamOutputSerializer,
    list_description="The teams of the caller's account, which a role can be scoped to.",
)
class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DirectoryViewSet):
    selector = "teams"
    serializer_class = TeamOutputSerializer


@read_only_schema(
    singular="target",
    plural="targets",
    serializer=TargetOutputSerializer,
    list_description="The targets of the caller's account, which a role can be scoped to.",
)
class TargetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DirectoryViewSet):
    selector = "targets"
    serializer_class = TargetOutputSerializer
    ordering_fields = ["name", "url"]
