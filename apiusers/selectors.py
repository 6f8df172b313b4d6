"""The read side: account-scoped querysets, shared by views and by the re-read after a write."""

from functools import cache
from typing import cast

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

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
    """The statement of `usable_key`: the key, its user and account, and the permission lists
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


def usable_key(prefix: str) -> ApiKey | None:
    """The key with this prefix if it is current (not expired) and its API user active, with
    the user, its account and the permissions of its account-tier roles: the one query a
    request makes before its view, its SQL written once (apiusers.rows)."""
    db = database()
    now = db.ops.adapt_datetimefield_value(timezone.now())
    with db.cursor() as cursor:
        cursor.execute(_key_sql(db.vendor), [Tier.ACCOUNT.value, prefix, now])
        row = cursor.fetchone()
    if row is None:
        return None
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
