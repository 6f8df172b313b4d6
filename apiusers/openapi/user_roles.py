"""The documentation of the API user role assignments' operations, one and in bulk."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status

from ..serializers.common import UserRoleInputSerializer, UserRoleOutputSerializer
from ..serializers.user_roles import (
    ApiUserRolesBulkCreateInputSerializer,
    ApiUserRolesBulkDeleteInputSerializer,
    ApiUserRolesBulkInputSerializer,
    ApiUserRolesBulkResultOutputSerializer,
    ApiUserRolesBulkUpdateInputSerializer,
    ApiUserRolesDeleteResultOutputSerializer,
    ApiUserRolesResultOutputSerializer,
)
from . import (
    DELETED_MEANWHILE,
    FORBIDDEN,
    FORBIDDEN_WRITE,
    LAST_OWNER_CONFLICT,
    NOT_AUTHENTICATED,
    SERVER_ERROR,
    VALIDATION_ERROR,
    detail_error,
)

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
        responses={status_code: UserRoleOutputSerializer, 400: VALIDATION_ERROR, **PATH_ERRORS},
    )


def bulk_operation(summary: str, *semantics: str, request, response):
    return extend_schema(
        summary=summary,
        description=described(*semantics, GRANTING, BULK, HISTORY),
        request=request,
        responses={200: response, 400: VALIDATION_ERROR, **ERRORS, 404: DELETED_MEANWHILE},
    )


documented = extend_schema_view(
    list=extend_schema(
        summary="List API User Roles",
        description=described(
            "The role assignments of one API user, a page at a time, ordered by role name, tier "
            "and id.",
            PATHS,
        ),
        responses={200: UserRoleOutputSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Retrieve API User Role",
        description=described("One role assignment of an API user.", PATHS),
        responses={200: UserRoleOutputSerializer, **READ_ERRORS, 404: NO_SUCH_ASSIGNMENT},
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
bulk_documented = extend_schema_view(
    bulk_create=bulk_operation(
        "Bulk Create API User Roles",
        "Add roles to multiple API users in one operation.",
        "`POST /api-users/roles/bulk/create/` with `api_users` (ids of API users of the "
        "caller's account) and `user_roles` (assignments as in Create API User Role) gives "
        "every listed API user every listed role. An assignment an API user already has is "
        "left as it is, and is not an error.",
        "The answer lists the resulting assignments, one per API user and role (new or "
        "already held), API user by API user in the order sent.",
        ITEM,
        request=ApiUserRolesBulkCreateInputSerializer,
        response=ApiUserRolesResultOutputSerializer,
    ),
    bulk_delete=bulk_operation(
        "Bulk Delete API User Roles",
        "Delete multiple API user roles in one operation.",
        "`POST /api-users/roles/bulk/delete/` with `ids`, the ids of role assignments of API "
        "users of the caller's account. The answer lists the ids deleted.",
        request=ApiUserRolesBulkDeleteInputSerializer,
        response=ApiUserRolesDeleteResultOutputSerializer,
    ),
    bulk_update=bulk_operation(
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
        request=ApiUserRolesBulkUpdateInputSerializer,
        response=ApiUserRolesResultOutputSerializer,
    ),
    bulk=bulk_operation(
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
        request=ApiUserRolesBulkInputSerializer,
        response=ApiUserRolesBulkResultOutputSerializer,
    ),
)
tagged = extend_schema(tags=["API Users"])
