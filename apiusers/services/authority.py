"""Who may act on whom, in one place, for every write.

A caller grants, takes away, or acts on (changes, deactivates, deletes, rotates the key of,
gives or takes roles from) only what it holds itself: each permission of the role granted or
taken away, and each permission of every role the API user acted on holds, in any scope, must
be among the caller's own account-tier permissions. So an Admin manages Admins and below, never
an Owner, and cannot make itself one through a key it rotated.

The account keeps at least one active Owner (a user, person or API user, holding `account.own`
at the account tier): a write that would leave it with none is refused with 409. Every such
write locks the account's row before counting the Owners that remain, so two concurrent
requests cannot each remove "the other" Owner.

The write services call these checks after locking the users they change, on what they read
under the lock, so a role granted or revoked meanwhile is seen.
"""

from collections import defaultdict
from collections.abc import Iterable

from rest_framework import exceptions, status

from ..models import Account, PermissionCode, Role, Tier, User, UserRole
from ..selectors import account_permissions

LAST_OWNER = (
    "The account must keep at least one active Owner: this request would leave it with none. "
    "Make another user an Owner first."
)


class LastOwner(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = LAST_OWNER
    default_code = "last_owner"


def held_by(actor: User) -> frozenset[str]:
    """What the caller holds. A superuser (an operator of the service, in the Django admin)
    holds every permission."""
    if actor.is_superuser:
        return frozenset(PermissionCode.values)
    return account_permissions(actor)


def check_grants(actor: User, roles: Iterable[Role]) -> None:
    """Refuse (403) to give a role with a permission the caller does not hold."""
    _check_roles(actor, roles, "grant")


def check_takes_away(actor: User, roles: Iterable[Role]) -> None:
    """Refuse (403) to take away a role with a permission the caller does not hold."""
    _check_roles(actor, roles, "take away")


def _check_roles(actor: User, roles: Iterable[Role], verb: str) -> None:
    held = held_by(actor)
    for role in roles:
        if not set(role.permissions) <= held:
            raise exceptions.PermissionDenied(
                f"You cannot {verb} the {role.name} role: it has permissions you do not hold."
            )


def check_acts_on(actor: User, holdings: dict[str, frozenset[str]]) -> None:
    """Refuse (403) to act on an API user holding a permission the caller does not hold.
    `holdings` maps each API user acted on to the permissions of its roles (see `holdings`)."""
    held = held_by(actor)
    for user_id in sorted(holdings):
        if not holdings[user_id] <= held:
            raise exceptions.PermissionDenied(
                f"You cannot change the API user {user_id}: it has permissions you do not hold."
            )


def holdings(user_ids: Iterable[str]) -> dict[str, frozenset[str]]:
    """The permissions each user holds through its roles, in any scope (one query)."""
    return collect(
        UserRole.objects.filter(user_id__in=list(user_ids)).values_list(
            "user_id", "role__permissions"
        )
    )


def collect(grants: Iterable[tuple[str, list[str]]]) -> dict[str, frozenset[str]]:
    """(user id, permissions of one of its roles) pairs, gathered by user."""
    held = defaultdict(set)
    for user_id, permissions in grants:
        held[user_id].update(permissions)
    return {user_id: frozenset(permissions) for user_id, permissions in held.items()}


def makes_owner(tier: str, role: Role) -> bool:
    return tier == Tier.ACCOUNT and PermissionCode.OWN_ACCOUNT in role.permissions


def owner_role_ids() -> list[str]:
    """The roles that make their holder an Owner at the account tier (a handful of rows)."""
    return [
        pk
        for pk, permissions in Role.objects.values_list("pk", "permissions")
        if PermissionCode.OWN_ACCOUNT in permissions
    ]


def active_owners(user_ids: Iterable[str]) -> set[str]:
    """Those of these users that are active Owners of their account (one query)."""
    return set(
        UserRole.objects.filter(
            user_id__in=list(user_ids),
            tier=Tier.ACCOUNT,
            role_id__in=owner_role_ids(),
            user__active=True,
            user__deleted__isnull=True,
        ).values_list("user_id", flat=True)
    )


def guard_last_owner(account_id: str, losing: Iterable[str]) -> None:
    """Refuse (409) a write after which the account would have no active Owner: `losing` are
    the active Owners the write demotes, deactivates or deletes. The account's row is locked
    first, so that concurrent writes count the Owners one after the other."""
    losing = set(losing)
    if not losing:
        return
    list(Account.objects.select_for_update().filter(pk=account_id).values_list("pk"))
    remaining = (
        UserRole.objects.filter(
            tier=Tier.ACCOUNT,
            role_id__in=owner_role_ids(),
            user__account_id=account_id,
            user__active=True,
            user__deleted__isnull=True,
        )
        .exclude(user_id__in=losing)
        .exists()
    )
    if not remaining:
        raise LastOwner()
