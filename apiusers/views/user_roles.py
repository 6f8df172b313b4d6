from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from .. import selectors
from ..ids import ID_PATTERN
from ..openapi import (
    DELETED_MEANWHILE,
    FORBIDDEN,
    FORBIDDEN_WRITE,
    LAST_OWNER_CONFLICT,
    NOT_AUTHENTICATED,
    SERVER_ERROR,
    VALIDATION_ERROR,
    detail_error,
)
from ..pagination import PageNumberPagination
from ..parsers import JSONParser
from ..permissions import CanManageApiUsers
from ..serializers.common import UserRoleInputSerializer, UserRoleSerializer
from ..serializers.user_roles import (
    ApiUserRolesBulkCreateSerializer,
    ApiUserRolesBulkDeleteSerializer,
    ApiUserRolesBulkResultSerializer,
    ApiUserRolesBulkSerializer,
    ApiUserRolesBulkUpdateSerializer,
    ApiUserRolesDeleteResultSerializer,
    ApiUserRoleSerializer,
    ApiUserRolesResultSerializer,
    ApiUserRoleWriteSerializer,
)
from ..services.user_roles import Grant, Regrant, user_roles_change

READ_ERRORS = {401: NOT_AUTHENTICATED, 403: FORBIDDEN, 500: SERVER_ERROR}
ERRORS = {**READ_ERRORS, 403: FORBIDDEN_WRITE, 409: LAST_OWNER_CONFLICT}
NO_SUCH_ASSIGNMENT = detail_error(
    "Not found.",
    "No API user with this id in the caller's account, or no role assignment with this id for it.",
)
PATH_ERRORS = {**ERRORS, 404: NO_SUCH_ASSIGNMENT}

LIST_ERRORS = {
    **READ_ERRORS,
    404: detail_error(
        "Not found.",
        'No API user with this id in the caller\'s account; or, as "Invalid page.", a page past '
        "the last one.",
    ),
}

PATHS = (
    "An API user's role assignments are at `/api-users/{api_user_id}/roles/` and "
    "`/api-users/{api_user_id}/roles/{id}/`, where `api_user_id` is an API user of the caller's "
    "account (another account's answers 404, like a missing one)."
)
ITEM = (
    'An assignment is written `{"role": {"id": ...}, "scope": {"tier": "account" | "team" | '
    '"target", "team": {"id": ...} | "target": {"id": ...}}}`: the team tier takes a team, the '
    "target tier a target, the account tier neither. Roles, teams and targets are given by id; "
    "teams and targets must be of the caller's account."
)
GRANTING = (
    "Only callers that may manage users (Owner, Admin) give, change or take away roles; only "
    "roles whose permissions they hold themselves (an Admin cannot grant or take away Owner), "
    "and only on API users whose permissions, in any scope, they hold (an Admin cannot change "
    "an Owner's roles): otherwise 403. The last active Owner of the account keeps its Owner "
    "role at the account tier (409). An API user deleted by a concurrent request answers 404. "
    "Nothing is changed by a refused request."
)
HISTORY = (
    "Every effective change is recorded in the history of each API user it touches and sets "
    "its `changed` and `changed_by`; a write that changes nothing leaves them as they were."
)
BULK = (
    "All or nothing: one bad id or value answers 400 and nothing changes. Each list holds at "
    "most 100 items."
)


def described(*parts: str) -> str:
    return "\n\n".join(parts)


def assignment_write(summary: str, semantics: str, status_code: int = status.HTTP_200_OK):
    return extend_schema(
        summary=summary,
        description=described(semantics, ITEM, GRANTING, HISTORY, PATHS),
        request=UserRoleInputSerializer,
        responses={status_code: UserRoleSerializer, 400: VALIDATION_ERROR, **PATH_ERRORS},
    )


def bulk_operation(summary: str, *semantics: str, request, response):
    return extend_schema(
        summary=summary,
        description=described(*semantics, GRANTING, BULK, HISTORY),
        request=request,
        responses={200: response, 400: VALIDATION_ERROR, **ERRORS, 404: DELETED_MEANWHILE},
    )


@extend_schema_view(
    list=extend_schema(
        summary="List API User Roles",
        description=described(
            "The role assignments of one API user, a page at a time, ordered by role name, tier "
            "and id.",
            PATHS,
        ),
        responses={200: UserRoleSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Retrieve API User Role",
        description=described("One role assignment of an API user.", PATHS),
        responses={200: UserRoleSerializer, **READ_ERRORS, 404: NO_SUCH_ASSIGNMENT},
    ),
    create=assignment_write(
        "Create API User Role",
        "Give an API user a role in a scope. An assignment the API user already has (same role "
        "and scope) is a 400. The answer is the new assignment.",
        status.HTTP_201_CREATED,
    ),
    update=assignment_write(
        "Update API User Role",
        "Replace the role and scope of an API user's role assignment; both are required. The "
        "assignment keeps its id. Giving it a role and scope the API user already has in another "
        "assignment is a 400. The answer is the assignment after the change.",
    ),
    partial_update=assignment_write(
        "Partial Update API User Role",
        "Change the role or the scope of an API user's role assignment: a part that is not sent "
        "keeps its current value, and the result is checked as a whole (a new tier needs its "
        "team or target sent with it). Otherwise as Update API User Role.",
    ),
    destroy=extend_schema(
        summary="Delete API User Role",
        description=described(
            "Take a role assignment away from an API user.", GRANTING, HISTORY, PATHS
        ),
        responses={204: None, **PATH_ERRORS},
    ),
)
@extend_schema(tags=["API Users"])
class ApiUserRoleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The role assignments of one API user of the caller's account."""

    permission_classes = [IsAuthenticated, CanManageApiUsers]
    # Assignments are nested objects, written in JSON only (a form body is a 415): a form could
    # carry them only in DRF's dotted syntax (`role.id`), which the schema cannot describe, and
    # any other part of one was dropped unseen.
    parser_classes = [JSONParser]
    serializer_class = UserRoleSerializer
    pagination_class = PageNumberPagination
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        account = self.request.user.account
        return selectors.api_user_roles(account).filter(user_id=self.kwargs["api_user_id"])

    def get_api_user(self):
        account = self.request.user.account
        return get_object_or_404(selectors.api_users(account), pk=self.kwargs["api_user_id"])

    def validated(self, user_role=None, partial=False) -> dict:
        serializer = ApiUserRoleWriteSerializer(
            user_role,
            data=self.request.data,
            partial=partial,
            context=self.get_serializer_context(),
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def respond(self, user_role_id: str, status_code=status.HTTP_200_OK) -> Response:
        user_role = self.get_queryset().get(pk=user_role_id)
        return Response(self.get_serializer(user_role).data, status=status_code)

    def list(self, request, *args, **kwargs):
        self.get_api_user()
        return super().list(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        user = self.get_api_user()
        grant = Grant(user.pk, self.validated())
        [user_role_id] = user_roles_change(actor=request.user, grants=[grant]).granted
        return self.respond(user_role_id, status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        user_role = self.get_object()
        regrant = Regrant(user_role, self.validated(user_role, partial))
        user_roles_change(actor=request.user, regrants=[regrant])
        return self.respond(user_role.pk)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        user_roles_change(actor=request.user, revokes=[self.get_object()])
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["API Users"])
class ApiUserRoleBulkViewSet(viewsets.GenericViewSet):
    """Role assignments of several API users of the caller's account at once."""

    permission_classes = [IsAuthenticated, CanManageApiUsers]
    parser_classes = [JSONParser]
    serializer_classes = {
        "bulk_create": ApiUserRolesBulkCreateSerializer,
        "bulk_delete": ApiUserRolesBulkDeleteSerializer,
        "bulk_update": ApiUserRolesBulkUpdateSerializer,
        "bulk": ApiUserRolesBulkSerializer,
    }

    def get_serializer_class(self):
        # Each route has one action, its POST; OPTIONS (action "metadata") describes that one.
        return self.serializer_classes[self.action_map["post"]]

    def validated(self) -> dict:
        serializer = self.get_serializer(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def assignments(self, ids: list[str]) -> list[dict]:
        """The representation of these assignments, in this order, read in one query."""
        found = selectors.api_user_roles(self.request.user.account).in_bulk(ids)
        return ApiUserRoleSerializer([found[pk] for pk in ids], many=True).data

    @bulk_operation(
        "Bulk Create API User Roles",
        "Add roles to multiple API users in one operation.",
        "`POST /api-users/roles/bulk/create/` with `api_users` (ids of API users of the "
        "caller's account) and `user_roles` (assignments as in Create API User Role) gives "
        "every listed API user every listed role. An assignment an API user already has is "
        "left as it is, and is not an error.",
        "The answer lists the resulting assignments, one per API user and role (new or "
        "already held), API user by API user in the order sent.",
        ITEM,
        request=ApiUserRolesBulkCreateSerializer,
        response=ApiUserRolesResultSerializer,
    )
    @action(detail=False, methods=["post"], url_path="bulk/create")
    def bulk_create(self, request):
        data = self.validated()
        grants = [Grant(user.pk, item) for user in data["api_users"] for item in data["user_roles"]]
        outcome = user_roles_change(actor=request.user, grants=grants, keep_held=True)
        return Response({"user_roles": self.assignments(outcome.granted)})

    @bulk_operation(
        "Bulk Delete API User Roles",
        "Delete multiple API user roles in one operation.",
        "`POST /api-users/roles/bulk/delete/` with `ids`, the ids of role assignments of API "
        "users of the caller's account. The answer lists the ids deleted.",
        request=ApiUserRolesBulkDeleteSerializer,
        response=ApiUserRolesDeleteResultSerializer,
    )
    @action(detail=False, methods=["post"], url_path="bulk/delete")
    def bulk_delete(self, request):
        outcome = user_roles_change(actor=request.user, revokes=self.validated()["ids"])
        return Response({"ids": outcome.revoked})

    @bulk_operation(
        "Bulk Update API User Roles",
        "Update multiple API user roles in one operation.",
        "`POST /api-users/roles/bulk/update/` with `user_roles`, each item the `id` of a role "
        "assignment of an API user of the caller's account and its new `role` and `scope` "
        "(both required). Assignments keep their ids. An assignment may not take the role and "
        "scope that another assignment of its API user has before the request (unless that one "
        "is deleted in it), so two assignments cannot swap or pass on their roles in one "
        "request; nor may two assignments of one API user end up with the same.",
        "The answer lists the assignments after the change, in the order sent.",
        ITEM,
        request=ApiUserRolesBulkUpdateSerializer,
        response=ApiUserRolesResultSerializer,
    )
    @action(detail=False, methods=["post"], url_path="bulk/update")
    def bulk_update(self, request):
        regrants = changes(self.validated()["user_roles"], "user_roles")
        outcome = user_roles_change(actor=request.user, regrants=regrants)
        return Response({"user_roles": self.assignments(outcome.regranted)})

    @bulk_operation(
        "Bulk Operations on API User Roles",
        "Add/update/delete multiple API user roles in one operation.",
        "`POST /api-users/roles/bulk/` with any of `create` (items as in Create API User "
        'Role, each with the `api_user` to give it to: `{"api_user": ..., "role": ..., '
        '"scope": ...}`), `update` (items as in Bulk Update API User Roles) and `delete` '
        "(ids of role assignments); at least one of them must not be empty. Deletions apply "
        "first, then updates, then creations. An assignment cannot be both updated and "
        "deleted. A creation of an assignment the API user already has (after the deletions "
        "and updates) is left as it is, as in Bulk Create API User Roles.",
        "The answer has the same three keys: the assignments created or already held, those "
        "updated, and the ids deleted, each in the order sent.",
        ITEM,
        request=ApiUserRolesBulkSerializer,
        response=ApiUserRolesBulkResultSerializer,
    )
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
