"""Writes to API users' role assignments.

One function applies any mix of grants, changes and revocations, so that the single and the bulk
operations lock, check, write and record history in the same way, in a constant number of
queries.
"""

from collections import defaultdict
from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from .. import selectors
from ..fields import does_not_exist
from ..models import Change, User, UserRole
from . import authority, history
from .api_users import lock_api_users

ALREADY_HELD = "The API user already has this role in this scope."
CHANGED_MEANWHILE = (
    "The role assignments of these API users changed while this request was handled; "
    "nothing was changed. Try again."
)


@dataclass(frozen=True)
class Grant:
    """Give `user_id` a validated item (`{role, tier, team, target}`)."""

    user_id: str
    item: dict
    # Where the item stands in the request body, to place an error on it.
    where: tuple = ()


@dataclass(frozen=True)
class Regrant:
    """Give an assignment the role and scope of a validated item instead of its own."""

    user_role: UserRole
    item: dict
    where: tuple = ()


@dataclass
class Outcome:
    """The ids of the assignments granted (one per grant, new or already held), changed and
    revoked, in the order asked."""

    granted: list[str] = field(default_factory=list)
    regranted: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)


def user_roles_change(
    *,
    actor: User,
    grants: Sequence[Grant] = (),
    regrants: Sequence[Regrant] = (),
    revokes: Sequence[UserRole] = (),
    keep_held: bool = False,
) -> Outcome:
    """Revoke, then change, then grant role assignments, all or nothing.

    The affected API users' rows are locked in id order (no deadlock between two requests that
    share users), and the checks run on their assignments as read under the lock: a grant of an
    assignment the user holds already is refused, or with `keep_held` answered with the held one;
    a change may not give an assignment the role and scope another assignment of the user has
    before the request (unless revoked in it), so two assignments cannot swap or pass on their
    roles in one request. The authority rules of `authority` apply to the API users (403) and
    to each role given or taken away, and the account keeps an active Owner (409). An API user
    deleted meanwhile makes the request a 404; an assignment revoked meanwhile by another
    request is left gone. Each API user whose roles really change gets one history entry, and
    `changed` and `changed_by`. A unique-constraint race with a writer that does not lock is a 400.
    """
    try:
        return _change(actor, grants, regrants, revokes, keep_held)
    except IntegrityError:
        raise ValidationError({"non_field_errors": [CHANGED_MEANWHILE]}) from None


def _key(user_id: str, role, tier: str, team, target) -> tuple:
    return (user_id, role.pk, tier, team and team.pk, target and target.pk)


def _held_key(user_role: UserRole) -> tuple:
    return _key(user_role.user_id, user_role.role, user_role.tier, user_role.team, user_role.target)


def _roles_by_user(user_roles) -> dict[str, list[str]]:
    described = defaultdict(list)
    for user_role in user_roles:
        described[user_role.user_id].append(history.describe_user_role(user_role))
    return {user_id: sorted(roles) for user_id, roles in described.items()}


def _owners(user_roles, users: list[User]) -> set[str]:
    """The active users among `users` that these assignments make Owners of the account."""
    active = {user.pk for user in users if user.active}
    return {
        user_role.user_id
        for user_role in user_roles
        if user_role.user_id in active and authority.makes_owner(user_role.tier, user_role.role)
    }


def _add_error(errors: dict, where: tuple, message: str) -> None:
    node = errors
    for key in where:
        node = node.setdefault(key, {})
    node.setdefault("non_field_errors", []).append(message)


@dataclass
class Plan:
    """What a request does to the assignments read under the lock: the assignments after it
    (`final`, by id), and the rows to delete, update and insert."""

    final: dict[str, UserRole]
    outcome: Outcome = field(default_factory=Outcome)
    revoked: list[str] = field(default_factory=list)
    regranted: list[UserRole] = field(default_factory=list)
    granted: list[UserRole] = field(default_factory=list)


@transaction.atomic
def _change(actor, grants, regrants, revokes, keep_held) -> Outcome:
    user_ids = {grant.user_id for grant in grants}
    user_ids |= {op.user_role.user_id for op in regrants} | {ur.user_id for ur in revokes}
    users = lock_api_users(actor.account_id, user_ids)
    current = {
        user_role.pk: user_role
        for user_role in UserRole.objects.filter(user_id__in=user_ids).select_related(
            "role", "team", "target"
        )
    }
    _check(actor, current, grants, regrants, revokes)
    plan = _plan(current, grants, regrants, revokes, keep_held)
    authority.guard_last_owner(
        actor.account_id, _owners(current.values(), users) - _owners(plan.final.values(), users)
    )
    _apply(plan)
    _record(actor, users, current.values(), plan.final.values())
    return plan.outcome


def _check(actor, current, grants, regrants, revokes) -> None:
    """The caller's authority (403): over each role given and taken away, then over the API
    users, as their assignments stand under the lock."""
    authority.check_grants(actor, [op.item["role"] for op in [*regrants, *grants]])
    authority.check_takes_away(
        actor,
        [
            current[user_role.pk].role if user_role.pk in current else user_role.role
            for user_role in [*(op.user_role for op in regrants), *revokes]
        ],
    )
    authority.check_acts_on(
        actor, authority.collect((ur.user_id, ur.role.permissions) for ur in current.values())
    )


def _plan(current, grants, regrants, revokes, keep_held) -> Plan:
    """Revocations, then changes, then grants, on copies of the current assignments; the
    request's conflicts with them are a 400 placed at the items that caused them."""
    plan = Plan(final={pk: copy(user_role) for pk, user_role in current.items()})
    errors: dict = {}
    final, outcome = plan.final, plan.outcome
    held = {_held_key(user_role): user_role.pk for user_role in final.values()}
    for user_role in revokes:
        if removed := final.pop(user_role.pk, None):
            del held[_held_key(removed)]
            plan.revoked.append(user_role.pk)
        outcome.revoked.append(user_role.pk)

    for op in regrants:
        user_role = final.get(op.user_role.pk)
        if user_role is None:
            _add_error(errors, op.where, does_not_exist(op.user_role.pk))
            continue
        old, new = _held_key(user_role), _key(user_role.user_id, **op.item)
        outcome.regranted.append(user_role.pk)
        if new == old:
            continue
        if new in held:
            _add_error(errors, op.where, ALREADY_HELD)
            continue
        # The old key stays taken: the rows are updated in one statement, in no given order.
        held[new] = user_role.pk
        for name, value in op.item.items():
            setattr(user_role, name, value)
        plan.regranted.append(user_role)

    held = {_held_key(user_role): user_role.pk for user_role in final.values()}
    for grant in grants:
        key = _key(grant.user_id, **grant.item)
        if key not in held:
            user_role = UserRole(user_id=grant.user_id, **grant.item)
            held[key] = user_role.pk
            final[user_role.pk] = user_role
            plan.granted.append(user_role)
        elif not keep_held:
            _add_error(errors, grant.where, ALREADY_HELD)
        outcome.granted.append(held[key])

    if errors:
        raise ValidationError(errors)
    return plan


def _apply(plan: Plan) -> None:
    selectors.RECENT_KEYS.changed()
    if plan.revoked:
        UserRole.objects.filter(pk__in=plan.revoked).delete()
    if plan.regranted:
        UserRole.objects.bulk_update(plan.regranted, ["role", "tier", "team", "target"])
    if plan.granted:
        UserRole.objects.bulk_create(plan.granted)


def _record(actor: User, users: list[User], before, after) -> None:
    """One history entry for each API user whose roles changed, and its `changed`."""
    before, after = _roles_by_user(before), _roles_by_user(after)
    entries = [
        (user, {"user_roles": {"from": before.get(user.pk, []), "to": after.get(user.pk, [])}})
        for user in users
        if before.get(user.pk, []) != after.get(user.pk, [])
    ]
    if entries:
        User.objects.filter(pk__in=[user.pk for user, _ in entries]).update(
            changed=timezone.now(), changed_by=actor
        )
        history.record_many(entries=entries, actor=actor, action=Change.Action.UPDATED)
