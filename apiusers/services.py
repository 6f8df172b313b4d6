"""The write side. Every function is one transaction and leaves the database consistent."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from . import keys
from .models import Account, ApiKey, Label, Role, Tier, User, UserRole


def labels_by_name(*, account_id: str, actor: User, items: Iterable[dict]) -> list[Label]:
    """The account's labels with the given names, creating the missing ones.

    An existing label is reused as it is (its colour is not changed by writing a user). Creation
    is race-safe: a label inserted by a concurrent request between our read and our insert is
    skipped by ON CONFLICT DO NOTHING and picked up by the second read. One query when every
    label exists, three when some are new, whatever their number.
    """
    items = list(items)
    names = [item["name"] for item in items]

    def read() -> dict[str, Label]:
        return {
            label.name: label
            for label in Label.objects.filter(account_id=account_id, name__in=names)
        }

    found = read() if names else {}
    # Inserted in one global order (by name): concurrent requests then take the name index's
    # locks in the same order, and cannot deadlock on names they both create.
    missing = sorted((item for item in items if item["name"] not in found), key=lambda i: i["name"])
    if missing:
        now = timezone.now()
        Label.objects.bulk_create(
            [
                Label(account_id=account_id, changed=now, changed_by=actor, **item)
                for item in missing
            ],
            ignore_conflicts=True,
        )
        found = read()
    return [found[name] for name in names]


@transaction.atomic
def api_user_update(*, user: User, actor: User, data: dict) -> User:
    """Apply a validated partial update to an API user.

    The user's row is locked first (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises
    writers itself), so concurrent updates apply one after the other and none is lost. Only an
    effective change moves `changed` and `changed_by`: writing the values a user already has
    leaves them as they were. `labels` replaces the whole set.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    update_fields = [
        name
        for name in ("name", "title", "active")
        if name in data and getattr(user, name) != data[name]
    ]
    for name in update_fields:
        setattr(user, name, data[name])

    labels_changed = False
    if "labels" in data:
        labels = labels_by_name(account_id=user.account_id, actor=actor, items=data["labels"])
        wanted = {label.id for label in labels}
        current = set(user.labels.values_list("id", flat=True))
        if current - wanted:
            user.labels.remove(*(current - wanted))
        if wanted - current:
            user.labels.add(*(wanted - current))
        labels_changed = wanted != current

    if update_fields or labels_changed:
        user.changed = timezone.now()
        user.changed_by = actor
        user.save(update_fields=[*update_fields, "changed", "changed_by"])
    return user


@transaction.atomic
def api_user_create(
    *,
    account: Account,
    name: str,
    role: Role,
    tier: str = Tier.ACCOUNT,
    team=None,
    target=None,
    **fields,
) -> tuple[User, str]:
    """Create an API user with one role and its key. Returns the user and the full key, which
    is never stored and so can be shown only now."""
    user = User.objects.create_api_user(account=account, name=name, **fields)
    UserRole.objects.create(user=user, role=role, tier=tier, team=team, target=target)
    return user, api_key_issue(user=user)


def api_key_issue(*, user: User) -> str:
    key, prefix = keys.generate()
    ApiKey.objects.create(user=user, prefix=prefix, digest=keys.digest(key))
    return key
