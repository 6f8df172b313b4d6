"""The read side: account-scoped querysets, shared by views and by the re-read after a write."""

import time
from functools import cache
from typing import cast

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

from . import keys
from .models import (
    LISTED,
    Account,
    ApiKey,
    Change,
    Label,
    Role,
    Target,
    Team,
    Tier,
    User,
    UserRole,
)
from .rows import DIALECTS, Columns, database, json_column

# A user as SQL written out reads it (the caller here, the users a write locks in
# services.api_users): every column but the search text, which only a search reads.
USER = Columns(User, "u", without=("search_text",))
KEY, KEY_ACCOUNT = Columns(ApiKey, "k"), Columns(Account, "a")


@cache
def _key_sql(vendor: str) -> str:
    """The statement of `verified_key`: the key, its user and account, and the permission lists
    of the user's account-tier roles as one JSON array."""
    grants = DIALECTS[vendor]["array"].format("r.permissions")
    return f"""
        SELECT {KEY.sql}, {USER.sql}, {KEY_ACCOUNT.sql}, (
            SELECT {grants}
            FROM apiusers_userrole ur JOIN apiusers_role r ON r.id = ur.role_id
            WHERE ur.user_id = u.id AND ur.tier = %s)
        FROM apiusers_apikey k
        JOIN apiusers_user u ON u.id = k.user_id
        JOIN apiusers_account a ON a.id = u.account_id
        WHERE k.prefix = %s AND (k.expires IS NULL OR k.expires > %s)
            AND u.is_apiuser AND u.active AND u.deleted IS NULL"""


class RecentKeys:
    """The rows `verified_key` read for the keys it verified in the last AUTH_CACHE_SECONDS, by
    prefix, in this process: within that time the same key is checked against its row as read
    (its digest and expiry again) without the query.

    What the row says of the key's user (active, deleted) and of its roles' permissions may then
    be that old. A change made through the services (the API, the admin site) reaches this
    process at once (`changed`) and every other process within AUTH_CACHE_SECONDS, as does one
    made without them (a management command, SQL). A row is kept only for a key that matched it:
    unknown and wrong keys are read from the database every time, and cannot fill the memory,
    which holds at most `MOST` keys (all are dropped when it is full)."""

    MOST = 10_000

    def __init__(self) -> None:
        self._rows: dict[str, tuple[float, tuple]] = {}

    def get(self, prefix: str) -> tuple | None:
        kept = self._rows.get(prefix)
        if kept is None or not settings.AUTH_CACHE_SECONDS:
            return None
        until, row = kept
        if until <= time.monotonic():
            self._rows.pop(prefix, None)
            return None
        return row

    def keep(self, prefix: str, row: tuple) -> None:
        if settings.AUTH_CACHE_SECONDS:
            if len(self._rows) >= self.MOST:
                self._rows.clear()
            self._rows[prefix] = (time.monotonic() + settings.AUTH_CACHE_SECONDS, row)

    def forget(self, prefix: str | None = None) -> None:
        """Drop the row of the key `prefix`, or of every key."""
        if prefix is None:
            self._rows.clear()
        else:
            self._rows.pop(prefix, None)

    def changed(self) -> None:
        """A write changes what keys' rows hold (an API user's `active`, its deletion, its keys,
        its roles): drop every row now, and again when the write commits, in case a request of
        another thread read one before that."""
        self.forget()
        transaction.on_commit(self.forget)


RECENT_KEYS = RecentKeys()


def verified_key(key: str) -> ApiKey | None:
    """The key `key` if it is well formed, matches the digest stored for its prefix, is current
    (not expired) and its API user active, with the user, its account and the permissions of its
    account-tier roles; else None. One query, whose SQL is written once (apiusers.rows), and none
    for a key verified in the last AUTH_CACHE_SECONDS (`RecentKeys`). The digest comparison is
    constant-time."""
    prefix = keys.prefix_of(key)
    if prefix is None:
        return None
    remembered = RECENT_KEYS.get(prefix)
    row = remembered or _key_row(prefix)
    if row is None:
        return None
    api_key = _key_of(row)
    if not keys.matches(key, api_key.digest) or (
        api_key.expires is not None and api_key.expires <= timezone.now()
    ):
        return None
    if remembered is None:
        RECENT_KEYS.keep(prefix, row)
    return api_key


def _key_row(prefix: str) -> tuple | None:
    db = database()
    now = db.ops.adapt_datetimefield_value(timezone.now())
    with db.cursor() as cursor:
        cursor.execute(_key_sql(db.vendor), [Tier.ACCOUNT.value, prefix, now])
        return cursor.fetchone()


def _key_of(row: tuple) -> ApiKey:
    db = database()
    split, end = len(KEY), len(KEY) + len(USER)
    api_key = cast(ApiKey, KEY.instance(row[:split], db))
    user = cast(User, USER.instance(row[split:end], db))
    user.account = cast(Account, KEY_ACCOUNT.instance(row[end:-1], db))
    api_key.user = user
    remember_permissions(user, json_column(row[-1]))
    return api_key


def remember_permissions(user: User, grants: list[list[str]] | None) -> None:
    user._account_permissions = frozenset(code for codes in grants or [] for code in codes)


def account_permissions(user: User) -> frozenset[str]:
    """The permission codes a user holds through account-tier roles: read with the user when it
    authenticates with a key, otherwise in one query, once per request.

    Team- and target-tier roles do not count: they grant nothing over users.
    """
    if getattr(user, "_account_permissions", None) is None:
        grants = Role.objects.filter(
            user_roles__user=user, user_roles__tier=Tier.ACCOUNT
        ).values_list("permissions", flat=True)
        remember_permissions(user, list(grants))
    return user._account_permissions


def api_users(account: Account) -> QuerySet[User]:
    """The API users of one account, and nothing else: the base of every API-user query.
    Deleted API users are gone from every answer."""
    return User.objects.filter(LISTED, account=account).order_by("id")


def api_users_for_display(account: Account) -> QuerySet[User]:
    """`api_users` with everything the representation shows, in a constant number of queries."""
    current_key = ApiKey.objects.filter(user=OuterRef("pk"), expires__isnull=True).values("prefix")
    return (
        api_users(account)
        .select_related("changed_by")
        .annotate(key_prefix=Subquery(current_key[:1]))
        .prefetch_related(
            Prefetch("labels", queryset=Label.objects.select_related("changed_by")),
            Prefetch(
                "user_roles",
                queryset=UserRole.objects.select_related("role", "team", "target").order_by(
                    "role__name", "tier", "id"
                ),
            ),
        )
    )


def key_status(user: User) -> dict:
    """The API user's current key (None if it never had one), and the replaced one while its
    grace period runs."""
    now = timezone.now()
    api_keys = list(user.api_keys.all())
    return {
        "current": next((key for key in api_keys if key.expires is None), None),
        "previous": next((key for key in api_keys if key.expires and key.expires > now), None),
    }


def history(user: User) -> QuerySet[Change]:
    """The changes to an API user, newest first."""
    return user.history.select_related("actor").order_by("-at", "-id")


def labels(account: Account) -> QuerySet[Label]:
    """The user labels of one account, with who last changed each."""
    return Label.objects.filter(account=account).select_related("changed_by").order_by("name", "id")


def roles(account: Account | None = None) -> QuerySet[Role]:
    """Every role, whatever the account: roles belong to none, the built-in ones are the same
    everywhere."""
    return Role.objects.order_by("name", "id")


def teams(account: Account) -> QuerySet[Team]:
    return Team.objects.filter(account=account).order_by("name", "id")


def targets(account: Account) -> QuerySet[Target]:
    return Target.objects.filter(account=account).order_by("name", "id")


def api_user_roles(account: Account, api_user_id: str | None = None) -> QuerySet[UserRole]:
    """The role assignments of the account's API users (of one, given its id), with the role
    and scope their representation shows. Assignments of humans and of deleted API users are
    not in it."""
    assignments = UserRole.objects.filter(user__in=api_users(account))
    if api_user_id is not None:
        assignments = assignments.filter(user_id=api_user_id)
    return assignments.select_related("role", "team", "target").order_by("role__name", "tier", "id")
