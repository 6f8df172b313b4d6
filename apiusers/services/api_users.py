"""Writes to API users and their keys. Each function is one transaction."""

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from .. import keys
from ..models import Account, ApiKey, Change, User, UserRole
from . import authority, history
from .labels import labels_by_name


def lock_api_users(account_id: str, user_ids: Iterable[str]) -> list[User]:
    """Lock the rows of these API users of the account, in id order (two requests that share
    users cannot deadlock), and read them afresh. Each must still exist: one deleted while the
    request waited for its lock makes the whole request a 404, before anything is written."""
    user_ids = set(user_ids)
    users = list(
        User.objects.select_for_update()
        .filter(pk__in=user_ids, account_id=account_id, is_apiuser=True, deleted__isnull=True)
        .order_by("pk")
    )
    if len(users) != len(user_ids):
        raise Http404
    return users


def acting_on(actor: User, users: list[User], *, deactivates: bool) -> None:
    """The checks every write to existing API users makes on the locked rows: the caller holds
    whatever they hold (403), and an account keeps an active Owner (409) when the write
    deactivates or deletes them."""
    authority.check_acts_on(actor, authority.holdings(user.pk for user in users))
    if deactivates and users:
        authority.guard_last_owner(
            users[0].account_id, authority.active_owners(user.pk for user in users)
        )


def set_labels(*, user: User, actor: User, items: list[dict]) -> dict | None:
    """Make `items` (name and colour each) the user's whole label set, creating missing labels.
    Returns the history entry of the change (`{"from": names, "to": names}`), or None when the
    set was already that one. Four queries at most, whatever the number of labels."""
    labels = labels_by_name(account_id=user.account_id, actor=actor, items=items)
    wanted = {label.id: label.name for label in labels}
    current = dict(user.labels.values_list("id", "name"))
    if wanted.keys() == current.keys():
        return None
    if current.keys() - wanted.keys():
        user.labels.remove(*(current.keys() - wanted.keys()))
    if wanted.keys() - current.keys():
        user.labels.add(*(wanted.keys() - current.keys()))
    return {"from": sorted(current.values()), "to": sorted(wanted.values())}


@transaction.atomic
def api_user_update(*, user: User, actor: User, data: dict) -> User:
    """Apply a validated update to an API user, and record it in the user's history.

    The user's row is locked first (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises
    writers itself), so concurrent updates apply one after the other and none is lost; the
    caller's authority and the last-Owner rule are checked on the row as locked. Only an
    effective change moves `changed` and `changed_by` and is recorded: writing the values a user
    already has leaves everything as it was. `labels` replaces the whole set.
    """
    [user] = lock_api_users(user.account_id, [user.pk])
    acting_on(actor, [user], deactivates=data.get("active") is False)
    return _update(user, actor, data)


def _update(user: User, actor: User, data: dict) -> User:
    fields = {name: data[name] for name in ("name", "title", "active") if name in data}
    changes = history.diff({name: getattr(user, name) for name in fields}, fields)
    for name in changes:
        setattr(user, name, data[name])
    if "labels" in data and (labels := set_labels(user=user, actor=actor, items=data["labels"])):
        changes["labels"] = labels

    if changes:
        user.changed = timezone.now()
        user.changed_by = actor
        user.save(
            update_fields=[*(name for name in changes if name != "labels"), "changed", "changed_by"]
        )
        history.record(user=user, actor=actor, action=Change.Action.UPDATED, changes=changes)
    return user


def describe(user_roles) -> list[str]:
    return sorted(history.describe_user_role(user_role) for user_role in user_roles)


@transaction.atomic
def api_user_create(
    *,
    account: Account,
    actor: User | None,
    name: str,
    title: str = "",
    active: bool = True,
    labels: list[dict] = (),
    user_roles: list[dict] = (),
    **fields,
) -> tuple[User, str]:
    """Create an API user with its labels, roles (`{role, tier, team, target}` each) and key.

    Returns the user and the full key, which is never stored and so can be shown only now.
    Without an actor (management commands) the new user is its own `changed_by`.
    """
    if actor is not None:
        authority.check_grants(actor, [item["role"] for item in user_roles])
    user = User.objects.create_api_user(
        account=account, name=name, title=title, active=active, **fields
    )
    actor = actor or user
    if actor != user:
        user.changed_by = actor
        user.save(update_fields=["changed_by"])
    label_change = set_labels(user=user, actor=actor, items=list(labels))
    assignments = UserRole.objects.bulk_create(UserRole(user=user, **item) for item in user_roles)
    changes = history.diff({}, {"name": name, "title": title, "active": active})
    if label_change:
        changes["labels"] = label_change
    if assignments:
        changes["user_roles"] = {"from": [], "to": describe(assignments)}
    history.record(user=user, actor=actor, action=Change.Action.CREATED, changes=changes)
    return user, api_key_issue(user=user)


@transaction.atomic
def api_users_bulk_update(
    *, account: Account, user_ids: list[str], actor: User, data: dict
) -> None:
    """Apply the same update to several API users of the account, all or none: one the caller
    may not act on, or the last active Owner deactivated, refuses the whole request."""
    users = lock_api_users(account.pk, user_ids)
    acting_on(actor, users, deactivates=data.get("active") is False)
    for user in users:
        _update(user, actor, data)


@transaction.atomic
def api_user_delete(*, user: User, actor: User) -> None:
    """Delete an API user: its keys stop working at once and it disappears from every answer.
    The row stays (marked deleted), so what it changed still names it."""
    [user] = lock_api_users(user.account_id, [user.pk])
    acting_on(actor, [user], deactivates=True)
    user.deleted = timezone.now()
    user.active = False
    user.save(update_fields=["deleted", "active"])
    user.api_keys.all().delete()
    history.record(user=user, actor=actor, action=Change.Action.DELETED)


def api_key_issue(*, user: User) -> str:
    key, prefix = keys.generate()
    ApiKey.objects.create(user=user, prefix=prefix, digest=keys.digest(key))
    return key


@transaction.atomic
def api_key_rotate(*, user: User, actor: User) -> str:
    """Issue a new key for an API user and return it (shown only now).

    The replaced key keeps working for API_KEY_ROTATION_GRACE_SECONDS (0: it stops at once),
    so clients can switch without downtime. Only the last replaced key gets a grace period: a
    key still in its grace period from an earlier rotation stops now.
    """
    [user] = lock_api_users(user.account_id, [user.pk])
    acting_on(actor, [user], deactivates=False)
    now = timezone.now()
    grace = timedelta(seconds=settings.API_KEY_ROTATION_GRACE_SECONDS)
    user.api_keys.filter(expires__isnull=False).delete()
    replaced = list(user.api_keys.values_list("prefix", flat=True))
    if grace:
        user.api_keys.update(expires=now + grace)
    else:
        user.api_keys.all().delete()
    key = api_key_issue(user=user)
    history.record(
        user=user,
        actor=actor,
        action=Change.Action.KEY_ROTATED,
        changes={
            "key": {
                "from": keys.redact(replaced[0]) if replaced else None,
                "to": keys.redact(keys.prefix_of(key)),
            }
        },
    )
    return key
