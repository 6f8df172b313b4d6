"""The history of API users: every write service records what it changed here."""

from .. import rows
from ..models import Change, User, UserRole


def describe_user_role(user_role: UserRole) -> str:
    """A role assignment as the history shows it, e.g. "Developer on team Platform (id)"."""
    scope = user_role.team or user_role.target
    where = f"{user_role.tier} {scope.name} ({scope.id})" if scope else "account"
    return f"{user_role.role.name} on {where}"


def diff(before: dict, after: dict) -> dict:
    """`{field: {"from": old, "to": new}}` for each field of `after` whose value differs."""
    return {
        field: {"from": before.get(field), "to": value}
        for field, value in after.items()
        if before.get(field) != value
    }


def record(*, user: User, actor: User, action: str, changes: dict | None = None) -> Change:
    return Change.objects.create(user=user, actor=actor, action=action, changes=changes or {})


def record_many(*, entries: list[tuple[User, dict]], actor: User, action: str) -> None:
    """One history entry per (user, changes) pair, in one statement (apiusers.rows)."""
    if entries:
        rows.insert(
            [
                Change(user=user, actor=actor, action=action, changes=changes)
                for user, changes in entries
            ]
        )
