"""Writes to labels."""

from collections import defaultdict
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from ..models import Account, Change, Label, User
from . import history


def labels_by_name(
    *, account_id: str, actor: User, items: Iterable[dict], found: dict[str, str] | None = None
) -> dict[str, str]:
    """The ids of the account's labels with the given names (name: id, in the order given),
    creating the missing ones. `found` is what the caller has read already of those labels
    (name: id); without it they are read here.

    An existing label is reused as it is (its colour is not changed by writing a user). Creation
    is race-safe: a label inserted by a concurrent request between our read and our insert is
    skipped by ON CONFLICT DO NOTHING and picked up by the second read. One query when every
    label exists (none when the caller has read them), two more when some are new, whatever
    their number.
    """
    items = list(items)
    names = [item["name"] for item in items]

    def read(names: list[str]) -> dict[str, str]:
        return dict(
            Label.objects.filter(account_id=account_id, name__in=names).values_list("name", "id")
        )

    if found is None:
        found = read(names) if names else {}
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
        found = {**found, **read([item["name"] for item in missing])}
    return {name: found[name] for name in names}


LABEL_NAME_TAKEN = "A label with this name already exists."


def _save(label: Label, **kwargs) -> None:
    """Save, turning a clash with another label's name into a 400. The check is the database's
    unique constraint, inside a savepoint: a name taken by a concurrent request between a check
    and the write cannot slip through, and the clash is never a 500."""
    try:
        with transaction.atomic():
            label.save(**kwargs)
    except IntegrityError:
        raise ValidationError({"name": [LABEL_NAME_TAKEN]}) from None


def label_create(*, account: Account, actor: User, name: str, color: str) -> Label:
    label = Label(account=account, name=name, color=color, changed_by=actor)
    _save(label, force_insert=True)
    return label


@transaction.atomic
def label_update(*, label: Label, actor: User, data: dict) -> Label:
    """Set the fields in `data` (name, colour). The label's row is locked first, so concurrent
    writes apply one after the other; `changed` and `changed_by` move only on an effective
    change. The users carrying the label are not changed (their label set is the same); a new
    name rewrites their search text, which the database's trigger does (migration 0009), locking
    them after the label."""
    label = get_object_or_404(Label.objects.select_for_update(), pk=label.pk)
    changes = history.diff({name: getattr(label, name) for name in data}, data)
    if changes:
        for name in changes:
            setattr(label, name, data[name])
        label.changed, label.changed_by = timezone.now(), actor
        _save(label, update_fields=[*changes, "changed", "changed_by"])
    return label


@transaction.atomic
def label_delete(*, label: Label, actor: User) -> None:
    """Delete a label, and with it its place on every user that carries it.

    Each such user (deleted ones aside) was changed by the requester: its `changed` and
    `changed_by` move, and an API user gets a `labels` entry in its history. Locks: the label
    first, then its users in id order, as a PATCH of a user takes them (user, then labels);
    their label names are read after the lock, so a concurrent PATCH is never recorded over.
    Seven statements, whatever the number of users.
    """
    label = get_object_or_404(Label.objects.select_for_update(), pk=label.pk)
    holders = list(
        User.objects.filter(labels=label, deleted__isnull=True)
        .select_for_update(of=("self",))
        .only("id", "is_apiuser")
        .order_by("id")
    )
    names = defaultdict(list)
    for user_id, name in User.labels.through.objects.filter(
        user__in=[user.id for user in holders]
    ).values_list("user_id", "label__name"):
        names[user_id].append(name)
    holders = [user for user in holders if label.name in names[user.id]]
    label.delete()
    if not holders:
        return
    User.objects.filter(pk__in=[user.id for user in holders]).update(
        changed=timezone.now(), changed_by=actor
    )
    history.record_many(
        entries=[
            (
                user,
                {
                    "labels": {
                        "from": sorted(names[user.id]),
                        "to": sorted(name for name in names[user.id] if name != label.name),
                    }
                },
            )
            for user in holders
            if user.is_apiuser
        ],
        actor=actor,
        action=Change.Action.UPDATED,
    )
