from rest_framework import permissions

from .models import PermissionCode
from .selectors import account_permissions


class CanManageApiUsers(permissions.BasePermission):
    """Reading API users needs `users.view`, changing them `users.manage`.

    Both come only from roles held at the account tier (Owner and Admin manage, Auditor and
    SecOps read). The check does not depend on the object, so a forbidden caller gets the same
    403 for an existing, a foreign and a missing id.
    """

    def has_permission(self, request, view) -> bool:
        needed = (
            PermissionCode.VIEW_USERS
            if request.method in permissions.SAFE_METHODS
            else PermissionCode.MANAGE_USERS
        )
        return needed in account_permissions(request.user)
