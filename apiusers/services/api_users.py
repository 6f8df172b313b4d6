"""Writes to API users and their keys. Each function is one transaction."""

from django.db import transaction
from django.utils import timezone

from .. import keys
from ..models import Account, ApiKey, Change, Role, Tier, User, UserRole
from . import history
from .labels import labels_by_name


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
    writers itself), so concurrent updates apply one after the other and none is lost. Only an
    effective change moves `changed` and `changed_by` and is recorded: writing the values a user
    already has leaves everything as it was. `labels` replaces the whole set.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
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
