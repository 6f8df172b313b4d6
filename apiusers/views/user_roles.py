from django.shortcuts import get_object_or_404
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import selectors
from ..models import User
from ..openapi import user_roles as docs
from ..parsers import JSONParser
from ..serializers.common import UserRoleOutputSerializer
from ..serializers.user_roles import (
    ApiUserRoleOutputSerializer,
    ApiUserRolesBulkCreateInputSerializer,
    ApiUserRolesBulkDeleteInputSerializer,
    ApiUserRolesBulkInputSerializer,
    ApiUserRolesBulkUpdateInputSerializer,
    ApiUserRoleWriteInputSerializer,
)
from ..services.user_roles import Grant, Regrant, user_roles_change
from .base import AccountScopedViewSet, UpdateDestroyMixin


@docs.documented
@docs.tagged
class ApiUserRoleViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, UpdateDestroyMixin, AccountScopedViewSet
):
    """The role assignments of one API user of the caller's account."""

    selector = "api_user_roles"
    output_serializer_class = UserRoleOutputSerializer
    # An If-Match is checked with the API user locked, as every write to its roles locks it.
    lock_model = User
    lock_parameter = "api_user_id"
    # Assignments are nested objects, written in JSON only (a form body is a 415): a form could
    # carry them only in DRF's dotted syntax (`role.id`), which the schema cannot describe, and
    # any other part of one was dropped unseen.
    parser_classes = [JSONParser]
    serializer_class = UserRoleOutputSerializer

    def get_serializer_class(self):
        if self.action in {"create", "update", "partial_update"}:
            return ApiUserRoleWriteInputSerializer
        return UserRoleOutputSerializer

    def get_api_user(self):
        account = self.request.user.account
        return get_object_or_404(selectors.api_users(account), pk=self.kwargs["api_user_id"])

    def list(self, request, *args, **kwargs):
        self.get_api_user()
        return super().list(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        grant = Grant(self.get_api_user().pk, self.validated())
        [user_role_id] = user_roles_change(actor=request.user, grants=[grant]).granted
        return self.respond(user_role_id, status_code=status.HTTP_201_CREATED)

    def perform_update(self, user_role, data):
        user_roles_change(actor=self.request.user, regrants=[Regrant(user_role, data)])

    def perform_destroy(self, user_role):
        user_roles_change(actor=self.request.user, revokes=[user_role])


@docs.bulk_documented
@docs.tagged
class ApiUserRoleBulkViewSet(AccountScopedViewSet):
    """Role assignments of several API users of the caller's account at once."""

    selector = "api_user_roles"
    parser_classes = [JSONParser]
    serializer_classes = {
        "bulk_create": ApiUserRolesBulkCreateInputSerializer,
        "bulk_delete": ApiUserRolesBulkDeleteInputSerializer,
        "bulk_update": ApiUserRolesBulkUpdateInputSerializer,
        "bulk": ApiUserRolesBulkInputSerializer,
    }

    def get_serializer_class(self):
        # Each route has one action, its POST; OPTIONS (action "metadata") describes that one.
        return self.serializer_classes[self.action_map["post"]]

    def assignments(self, ids: list[str]) -> list[dict]:
        """The representation of these assignments, in this order, read in one query."""
        found = self.get_queryset().in_bulk(ids)
        # many=True makes a ListSerializer, whose data is a list; the stubs keep the child's type.
        return ApiUserRoleOutputSerializer([found[pk] for pk in ids], many=True).data  # type: ignore[return-value]

    @action(detail=False, methods=["post"], url_path="bulk/create")
    def bulk_create(self, request):
        data = self.validated()
        grants = [Grant(user.pk, item) for user in data["api_users"] for item in data["user_roles"]]
        outcome = user_roles_change(actor=request.user, grants=grants, keep_held=True)
        return Response({"user_roles": self.assignments(outcome.granted)})

    @action(detail=False, methods=["post"], url_path="bulk/delete")
    def bulk_delete(self, request):
        outcome = user_roles_change(actor=request.user, revokes=self.validated()["ids"])
        return Response({"ids": outcome.revoked})

    @action(detail=False, methods=["post"], url_path="bulk/update")
    def bulk_update(self, request):
        regrants = changes(self.validated()["user_roles"], "user_roles")
        outcome = user_roles_change(actor=request.user, regrants=regrants)
        return Response({"user_roles": self.assignments(outcome.regranted)})

    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request):
        data = self.validated()
        outcome = user_roles_change(
            actor=request.user,
            grants=[
                Grant(item["api_user"].pk, item_without(item, "api_user"))
                for item in data.get("create", [])
            ],
            regrants=changes(data.get("update", []), "update"),
            revokes=data.get("delete", []),
            keep_held=True,
        )
        return Response(
            {
                "create": self.assignments(outcome.granted),
                "update": self.assignments(outcome.regranted),
                "delete": outcome.revoked,
            }
        )


def item_without(item: dict, key: str) -> dict:
    return {name: value for name, value in item.items() if name != key}


def changes(items: list[dict], field: str) -> list[Regrant]:
    """The changes validated items ask for; an error on one is placed at its index in `field`."""
    return [
        Regrant(item["id"], item_without(item, "id"), where=(field, str(index)))
        for index, item in enumerate(items)
    ]
