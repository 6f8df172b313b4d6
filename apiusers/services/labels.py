"""Writes to labels."""

from collections.abc import Iterable

from django.utils import timezone

from ..models import Label, User


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
