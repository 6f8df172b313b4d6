"""Writes to API users and their keys. Each function is one transaction."""

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TypeVar, cast

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from .. import keys, rows, selectors
from ..fields import does_not_exist
from ..models import Account, ApiKey, Change, User, UserRole
from ..rows import DIALECTS, database, json_column, keys_param, list_param, matching
from ..selectors import USER
from . import authority, history
from .labels import labels_by_name

T = TypeVar("T")


def lock_api_users(account_id: str, user_ids: Iterable[str]) -> list[User]:
    """Lock the rows of these API users of the account, in id order (two requests that share
    users cannot deadlock), and read them afresh. Each must still exist: one deleted while the
    request waited for its lock makes the whole request a 404, before anything is written."""
    users, missing = _lock(account_id, user_ids)
    if missing:
        raise Http404
    return users


def _missing(users: list[User], user_ids: list[str]) -> list[str]:
    """The ids (in the order given) that name none of the users."""
    found = {user.pk for user in users}
    return [pk for pk in user_ids if pk not in found]


def _lock(account_id: str, user_ids: Iterable[str]) -> tuple[list[User], list[str]]:
    """The locked API users, and the ids (in the order given) that name none of them."""
    user_ids = list(user_ids)
    users = list(
        User.objects.select_for_update(of=("self",))
        .filter(pk__in=user_ids, account_id=account_id, is_apiuser=True, deleted__isnull=True)
        .order_by("pk")
    )
    return users, _missing(users, user_ids)


def pipelined() -> AbstractContextManager:
    """Statements sent without waiting for each other's results (psycopg's pipeline, on
    PostgreSQL): the database still runs them in order, each seeing what the ones before it
    wrote, and the round trip is paid once, when a result is read (or the block ends). Inside,
    nothing may depend on a statement's row count, which arrives only then. Elsewhere, the
    statements run one by one."""
    db = database()
    if db.vendor != "postgresql":
        return nullcontext()
    db.ensure_connection()
    return db.connection.pipeline()


@dataclass
class Held:
    """What a write reads of the API users it locks: what the checks and the label diff need."""

    # The permissions of each user's roles, in any scope (for `authority.check_acts_on`).
    permissions: dict[str, frozenset[str]]
    # Each user's labels, id: name.
    labels: dict[str, dict[str, str]]
    # The account's labels with the names the request sends (name: id); None without labels.
    named: dict[str, str] | None


# The API users a write names, as the lock and the read that follows it find them (their
# columns: selectors.USER).
WRITABLE = "u.id {} AND u.account_id = %s AND u.is_apiuser AND u.deleted IS NULL"
# PostgreSQL's row locks, in id order (two requests that share users cannot deadlock); by
# whether they are one user's (`rows.matching`).
LOCK = {
    one: f"""
    SELECT u.id FROM apiusers_user u WHERE {WRITABLE.format(matching("postgresql", one))}
    ORDER BY u.id FOR UPDATE"""  # noqa: S608
    for one in (True, False)
}
# A bulk update's labels, share-locked before its users, as a rename (migration 0009's trigger)
# or a deletion (services.labels) of a label locks the label before its holders; see
# api_users_bulk_update.
LABELS_FIRST = """
    SELECT l.id FROM apiusers_label l WHERE l.account_id = %s AND l.name = ANY(%s)
    ORDER BY l.name FOR KEY SHARE"""


@cache
def _lock_and_read_sql(vendor: str, names: bool, one: bool) -> str:
    """The statement of `_lock_and_read`; `names`: whether it reads labels by name; `one`:
    whether it reads one user. Built from the constants above only: every value is a
    parameter."""
    words = DIALECTS[vendor]
    array, match = words["array"].format, words["in"]
    label = words["object"].format("'id', l.id, 'name', l.name")
    named = "NULL"
    if names:
        named = f"""(SELECT {array(label)} FROM apiusers_label l
            WHERE l.account_id = %s AND l.name {match})"""  # noqa: S608
    return f"""
        SELECT {USER.sql},
            (SELECT {array("r.permissions")} FROM apiusers_userrole ur
                JOIN apiusers_role r ON r.id = ur.role_id WHERE ur.user_id = u.id) AS held,
            (SELECT {array(label)} FROM apiusers_user_labels ul
                JOIN apiusers_label l ON l.id = ul.label_id WHERE ul.user_id = u.id) AS labelled,
            {named} AS named
        FROM apiusers_user u
        WHERE {WRITABLE.format(matching(vendor, one))}
        ORDER BY u.id"""  # noqa: S608


def _lock_and_read(
    account_id: str,
    user_ids: Iterable[str],
    label_names: list[str] | None,
    *,
    labels_first: bool = False,
) -> tuple[list[User], list[str], Held]:
    """`_lock`, then read what the write needs of the users (`Held`): the permissions of their
    roles and their labels, each a JSON array read with the user, and the account's labels
    named `label_names`. The SQL is written out (`rows.DIALECTS`): built through the ORM, the
    statement cost more to compile than the round trips it saves.

    On PostgreSQL the lock and the read are two statements sent together (psycopg's pipeline):
    one round trip, and the read starts once the lock is held, so it sees what a request that
    held the lock before wrote (in READ COMMITTED a statement sees the database as it was when
    it started; reading in the locking statement itself would miss it). SQLite serialises
    writers: it takes no lock, and nothing changes while a write runs. With `labels_first`,
    the existing labels named are share-locked before the users, in the same round trip.
    """
    user_ids = list(user_ids)
    params: list = []
    if label_names:
        params += [account_id, list_param(label_names)]
    one, keys = len(user_ids) == 1, keys_param(user_ids)
    params += [keys, account_id]
    db = database()
    sql = _lock_and_read_sql(db.vendor, bool(label_names), one)
    with pipelined(), db.cursor() as cursor:
        if db.vendor == "postgresql":
            if labels_first and label_names:
                cursor.execute(LABELS_FIRST, [account_id, label_names])
            cursor.execute(LOCK[one], [keys, account_id])
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    users: list[User] = []
    held = Held(permissions={}, labels={}, named=None if label_names is None else {})
    for row in rows:
        user = cast(User, USER.instance(row[: len(USER)], db))
        grants, labelled = (json_column(value) for value in row[len(USER) : -1])
        users.append(user)
        held.permissions[user.pk] = frozenset(code for codes in grants for code in codes)
        held.labels[user.pk] = {label["id"]: label["name"] for label in labelled}
    if label_names and rows:  # the labels named are the same on every row
        held.named = {label["name"]: label["id"] for label in json_column(rows[0][-1])}
    return users, _missing(users, user_ids), held


def acting_on(
    actor: User,
    users: list[User],
    *,
    deactivates: bool,
    holdings: dict[str, frozenset[str]] | None = None,
) -> None:
    """The checks every write to existing API users makes on the locked rows: the caller holds
    whatever they hold (403), and an account keeps an active Owner (409) when the write
    deactivates or deletes them. `holdings` are the permissions of their roles, when the write
    has read them already (`_lock_and_read`)."""
    if holdings is None:
        holdings = authority.holdings(user.pk for user in users)
    authority.check_acts_on(actor, holdings)
    if deactivates and users:
        authority.guard_last_owner(
            users[0].account_id, authority.active_owners(user.pk for user in users)
        )


def set_labels(
    *,
    users: list[User],
    actor: User,
    items: list[dict],
    current: dict[str, dict[str, str]],
    named: dict[str, str] | None = None,
) -> dict[str, dict]:
    """Make `items` (name and colour each) the whole label set of each user, creating missing
    labels. `current` holds each user's labels (id: name) and `named` the account's labels
    named in `items` (name: id), as `_lock_and_read` reads them under the lock. Returns, for each
    user whose set changed, its history entry (`{"from": names, "to": names}`). At most five
    queries, whatever the number of users and labels; none when every label exists, was read
    with the users, and no set changes."""
    found = labels_by_name(account_id=users[0].account_id, actor=actor, items=items, found=named)
    wanted = {label_id: name for name, label_id in found.items()}
    links = User.labels.through.objects
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


def api_user_update(
    *,
    account_id: str,
    user_id: str,
    actor: User,
    data: dict,
    answer: Callable[[User], Callable[[], T]] | None = None,
) -> T | None:
    """Apply a validated update to the API user `user_id` of the account, and record it in the
    user's history; a user that is not one (missing, deleted, a person, of another account) is
    a 404.

    The user's row is locked first (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises
    writers itself), so concurrent updates apply one after the other and none is lost; the
    caller's authority and the last-Owner rule are checked on the row as locked. Only an
    effective change moves `changed` and `changed_by` and is recorded: writing the values a user
    already has leaves everything as it was. `labels` replaces the whole set.

    `answer`, when given, is called with the updated user before the transaction ends and sends
    the query of the answer (`representation.pending_api_users`); the function it returns reads
    that answer's rows once the transaction has ended, and what it returns is returned. A
    request's answer then shows the user exactly as this write left it, read under its lock.

    On PostgreSQL the writes, the answer's query and the COMMIT are one round trip (the
    transaction runs inside `pipelined()`): once the lock is held, PostgreSQL waits for this
    process only while it decides the write, and releases the lock without waiting for it again.
    """
    with pipelined():
        pending = _update_one(account_id, user_id, actor, data, answer)
    return pending() if pending else None


@transaction.atomic
def _update_one(
    account_id: str,
    user_id: str,
    actor: User,
    data: dict,
    answer: Callable[[User], Callable[[], T]] | None,
) -> Callable[[], T] | None:
    """The transaction of `api_user_update`: lock and read, check, write, send the answer's
    query."""
    users, missing, held = _lock_and_read(account_id, [user_id], _label_names(data))
    if missing:
        raise Http404
    _update(users, held, actor, data)
    return answer(users[0]) if answer else None


def _label_names(data: dict) -> list[str] | None:
    return None if "labels" not in data else [item["name"] for item in data["labels"]]


def _update(users: list[User], held: Held, actor: User, data: dict) -> None:
    """Check and set the same fields on each of the locked users (`held`: what they hold), in a
    constant number of queries: the label sets, then one UPDATE of the users that really
    change, and one history entry each."""
    labels = data.get("labels")
    acting_on(actor, users, deactivates=data.get("active") is False, holdings=held.permissions)
    if "active" in data:
        selectors.RECENT_KEYS.changed()
    fields = {name: data[name] for name in ("name", "title", "active") if name in data}
    changes = {
        user.pk: history.diff({name: getattr(user, name) for name in fields}, fields)
        for user in users
    }
    if labels is not None:
        label_changes = set_labels(
            users=users, actor=actor, items=labels, current=held.labels, named=held.named
        )
        for user_id, change in label_changes.items():
            changes[user_id]["labels"] = change
    changed = [user for user in users if changes[user.pk]]
    if not changed:
        return
    values = {**fields, "changed": timezone.now(), "changed_by": actor}
    rows.update(User, [user.pk for user in changed], values)
    for user in changed:
        for name, value in values.items():
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
    label_change = labels and set_labels(
        users=[user], actor=actor, items=list(labels), current={user.pk: {}}
    ).get(user.pk)
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
    whole request.

    The labels named are locked before the users. A rename or a deletion of a label locks it,
    then its holders (their search text, their history); this request, holding users of which
    one holds the label, would otherwise wait for the label to link it to another, and the two
    would deadlock. One user's PATCH cannot: it waits for a label only to link it to a user
    that does not hold it, which a rename does not lock."""
    users, missing, held = _lock_and_read(
        account.pk, user_ids, _label_names(data), labels_first=True
    )
    if missing:
        raise ValidationError({"ids": [does_not_exist(pk) for pk in missing]})
    _update(users, held, actor, data)


@transaction.atomic
def api_user_delete(*, user: User, actor: User) -> None:
    """Delete an API user: its keys stop working (`RecentKeys.changed`) and it disappears from
    every answer.
    The row stays (marked deleted), so what it changed still names it."""
    [user] = lock_api_users(user.account_id, [user.pk])
    acting_on(actor, [user], deactivates=True)
    user.deleted = timezone.now()
    user.active = False
    user.save(update_fields=["deleted", "active"])
    user.api_keys.all().delete()
    selectors.RECENT_KEYS.changed()
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
    selectors.RECENT_KEYS.changed()
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
