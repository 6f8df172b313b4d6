"""Writes to API users and their keys. Each function is one transaction."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import cast

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from .. import keys
from ..fields import does_not_exist
from ..models import Account, ApiKey, Change, User, UserRole
from . import authority, history
from .labels import labels_by_name


def lock_api_users(account_id: str, user_ids: Iterable[str]) -> list[User]:
    """Lock the rows of these API users of the account, in id order (two requests that share
    users cannot deadlock), and read them afresh. Each must still exist: one deleted while the
    request waited for its lock makes the whole request a 404, before anything is written."""
    users, missing = _lock(account_id, user_ids)
    if missing:
        raise Http404
    return users


def _lock(account_id: str, user_ids: Iterable[str]) -> tuple[list[User], list[str]]:
    """The locked API users, and the ids (in the order given) that name none of them."""
    user_ids = list(user_ids)
    users = list(
        User.objects.select_for_update()
        .filter(pk__in=user_ids, account_id=account_id, is_apiuser=True, deleted__isnull=True)
        .order_by("pk")
    )
    found = {user.pk for user in users}
    return users, [pk for pk in user_ids if pk not in found]


def acting_on(actor: User, users: list[User], *, deactivates: bool) -> None:
    """The checks every write to existing API users makes on the locked rows: the caller holds
    whatever they hold (403), and an account keeps an active Owner (409) when the write
    deactivates or deletes them."""
    authority.check_acts_on(actor, authority.holdings(user.pk for user in users))
    if deactivates and users:
        authority.guard_last_owner(
            users[0].account_id, authority.active_owners(user.pk for user in users)
        )


def set_labels(*, users: list[User], actor: User, items: list[dict]) -> dict[str, dict]:
    """Make `items` (name and colour each) the whole label set of each user, creating missing
    labels. Returns, for each user whose set changed, its history entry (`{"from": names,
    "to": names}`). At most six queries, whatever the number of users and labels."""
    labels = labels_by_name(account_id=users[0].account_id, actor=actor, items=items)
    wanted = {label.id: label.name for label in labels}
    links = User.labels.through.objects
    current: defaultdict[str, dict[str, str]] = defaultdict(dict)
    for user_id, label_id, name in links.filter(user__in=users).values_list(
        "user_id", "label_id", "label__name"
    ):
        current[user_id][label_id] = name
    changes = {
        user.pk: {"from": sorted(current[user.pk].values()), "to": sorted(wanted.values())}
        for user in users
        if current[user.pk].keys() != wanted.keys()
    }
    if changes:
        links.filter(user_id__in=changes).exclude(label_id__in=wanted).delete()
        added = [
            links.model(user_id=user_id, label_id=label_id)
            for user_id in changes
            for label_id in wanted.keys() - current[user_id].keys()
        ]
        if added:
            links.bulk_create(added)
    return changes


@transaction.atomic
def api_user_update(*, user: User, actor: User, data: dict) -> User:
    """Apply a validated update to an API user, and record it in the user's history.

    The user's row is locked first (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises
    writers itself), so concurrent updates apply one after the other and none is lost; the
    caller's authority and the last-Owner rule are checked on the row as locked. Only an
    effective change moves `changed` and `changed_by` and is recorded: writing the values a user
    already has leaves everything as it was. `labels` replaces the whole set.
    """
    users = lock_api_users(user.account_id, [user.pk])
    acting_on(actor, users, deactivates=data.get("active") is False)
    _update(users, actor, data)
    return users[0]


def _update(users: list[User], actor: User, data: dict) -> None:
    """Set the same fields on each of the locked users, in a constant number of queries: the
    label sets, then one UPDATE of the users that really change, and one history entry each."""
    fields = {name: data[name] for name in ("name", "title", "active") if name in data}
    changes = {
        user.pk: history.diff({name: getattr(user, name) for name in fields}, fields)
        for user in users
    }
    if "labels" in data:
        for user_id, labels in set_labels(users=users, actor=actor, items=data["labels"]).items():
            changes[user_id]["labels"] = labels
    changed = [user for user in users if changes[user.pk]]
    if not changed:
        return
    now = timezone.now()
    User.objects.filter(pk__in=[user.pk for user in changed]).update(
        **fields, changed=now, changed_by=actor
    )
    for user in changed:
        for name, value in {**fields, "changed": now, "changed_by": actor}.items():
            setattr(user, name, value)
    history.record_many(
        entries=[(user, changes[user.pk]) for user in changed],
        actor=actor,
        action=Change.Action.UPDATED,
    )


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
    labels: Sequence[dict] = (),
    user_roles: Sequence[dict] = (),
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
    label_change = labels and set_labels(users=[user], actor=actor, items=list(labels)).get(user.pk)
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
    """Apply the same update to several API users of the account, all or none: an id that names
    none of them (missing, of another account, or deleted while the request waited) is a 400 on
    `ids`; one the caller may not act on, or the last active Owner deactivated, refuses the
    whole request."""
    users, missing = _lock(account.pk, user_ids)
    if missing:
        raise ValidationError({"ids": [does_not_exist(pk) for pk in missing]})
    acting_on(actor, users, deactivates=data.get("active") is False)
    _update(users, actor, data)


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
                # A key just issued is well-formed: it has a prefix.
                "to": keys.redact(cast(str, keys.prefix_of(key))),
            }
        },
    )
    return key
