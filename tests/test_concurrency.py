"""Concurrent PATCHes: no lost or mixed update, no duplicate label, no 5xx.

PostgreSQL only: SQLite has no SELECT ... FOR UPDATE and serialises writers itself, so there is
nothing to race there. Each test releases its threads together with a barrier; every thread
has its own client and its own database connection, which it closes when it is done.
"""

import threading
import time
from collections.abc import Callable

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

from apiusers.models import Account, Label, User

from .conftest import client_for, url
from .factories import AccountFactory, ApiUserFactory, LabelFactory, api_user_with_key

THREADS = 50
# Requests held at once inside their transactions: each holds a connection from the pool
# (DATABASE_POOL_MAX_SIZE, 60 in the tests), which also serves the test and its lock watcher.
HELD = 10
JOIN_TIMEOUT = 120
BLACK = "#000000"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            "Concurrency needs PostgreSQL: SQLite has no row locks (select_for_update is a "
            "no-op) and serialises writers itself. Run with DATABASE_URL=postgres://..."
        )


class Together:
    """Callables run each in its own thread, all released at once by a barrier."""

    def __init__(self, requests: list[Callable]):
        barrier = threading.Barrier(len(requests), timeout=JOIN_TIMEOUT)
        self.results: list = [None] * len(requests)
        self.errors: list[BaseException] = []

        def worker(index: int, request: Callable) -> None:
            try:
                # Each thread takes its pooled connection before the race: the pool opens new
                # ones one after another, and on a slow machine the last of fifty threads
                # waited longer than DATABASE_CONNECT_TIMEOUT for its own (a 503).
                connection.ensure_connection()
                barrier.wait()
                self.results[index] = request()
            except BaseException as error:
                self.errors.append(error)
            finally:
                connection.close()

        self.threads = [
            threading.Thread(target=worker, args=(index, request), daemon=True)
            for index, request in enumerate(requests)
        ]
        for thread in self.threads:
            thread.start()

    def join(self) -> list:
        deadline = time.monotonic() + JOIN_TIMEOUT
        for thread in self.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        assert not [thread for thread in self.threads if thread.is_alive()], "still running"
        assert not self.errors, self.errors
        return self.results


def run_together(requests: list[Callable]) -> list:
    return Together(requests).join()


def wait_for_lock_waiters(count: int, timeout: float = 30) -> bool:
    """Wait until `count` transactions in this database wait for another one to end."""
    watcher = connections.create_connection(DEFAULT_DB_ALIAS)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with watcher.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks JOIN pg_stat_activity USING (pid) "
                    "WHERE datname = current_database() "
                    "AND locktype = 'transactionid' AND NOT granted"
                )
                if cursor.fetchone()[0] >= count:
                    return True
            time.sleep(0.01)
        return False
    finally:
        watcher.close()


def run_while_a_label_is_being_created(
    account: Account, actor: User, name: str, requests: list[Callable]
) -> list:
    """Run `requests` together while another transaction creates the label `name`; once HELD
    requests wait for that transaction, it rolls back.

    This makes the race certain instead of occasional: the held requests have all looked for
    the label, not found it, and started inserting it when the other transaction ends."""
    with transaction.atomic():
        LabelFactory(account=account, name=name, color=BLACK, changed_by=actor)
        together = Together(requests)
        all_held = wait_for_lock_waiters(HELD)
        transaction.set_rollback(True)
    results = together.join()
    assert all_held, f"fewer than {HELD} requests waited for the label"
    return results


def patch_with(key: str, path: str, body: dict) -> Callable:
    def request():
        response = client_for(key).patch(path, body)
        return response.status_code, response.content

    return request


def assert_all_ok(results: list) -> None:
    failures = [(status, content[:300]) for status, content in results if status != 200]
    assert not failures, failures


def state_of(user: User) -> tuple[str, set[str]]:
    user = User.objects.get(pk=user.pk)
    return user.name, set(user.labels.values_list("name", flat=True))


def labels(*names: str) -> list[dict]:
    return [{"name": name, "color": BLACK} for name in names]


@pytest.fixture
def setup():
    account = AccountFactory()
    admin, key = api_user_with_key(account, "Admin", name="admin-bot")
    return account, admin, key


def test_concurrent_patches_of_one_user_apply_exactly_one_request_whole(setup):
    account, admin, key = setup
    user = ApiUserFactory(account=account, name="ci-bot")
    bodies = [{"name": f"n{i}", "labels": labels("shared", f"t{i}")} for i in range(THREADS)]

    started = time.monotonic()
    results = run_together([patch_with(key, url(user), body) for body in bodies])
    elapsed = time.monotonic() - started

    assert_all_ok(results)
    name, label_names = state_of(user)
    assert name in {body["name"] for body in bodies}
    assert label_names == {"shared", f"t{name[1:]}"}, (name, label_names)
    assert Label.objects.filter(account=account, name="shared").count() == 1
    assert Label.objects.filter(account=account).count() == THREADS + 1
    assert User.objects.get(pk=user.pk).changed_by_id == admin.id
    print(f"\n{THREADS} concurrent PATCHes of one user: {elapsed:.2f}s")


def test_concurrent_name_and_label_patches_of_one_user_lose_neither(setup):
    account, admin, key = setup
    user = ApiUserFactory(account=account, name="ci-bot")
    user.labels.set([LabelFactory(account=account, name="old", changed_by=admin)])
    name_bodies = [{"name": f"n{i}"} for i in range(THREADS // 2)]
    label_bodies = [{"labels": labels("shared", f"t{i}")} for i in range(THREADS // 2)]
    bodies = [body for pair in zip(name_bodies, label_bodies, strict=True) for body in pair]

    started = time.monotonic()
    results = run_together([patch_with(key, url(user), body) for body in bodies])
    elapsed = time.monotonic() - started

    assert_all_ok(results)
    name, label_names = state_of(user)
    assert name in {body["name"] for body in name_bodies}
    assert label_names in [{label["name"] for label in body["labels"]} for body in label_bodies]
    assert Label.objects.filter(account=account, name="shared").count() == 1
    print(f"\n{THREADS} concurrent name/label PATCHes of one user: {elapsed:.2f}s")


def test_concurrent_creation_of_one_label_on_many_users_creates_it_once(setup):
    account, admin, key = setup
    users = [ApiUserFactory(account=account) for _ in range(THREADS)]
    body = {"labels": labels("brand-new")}

    started = time.monotonic()
    results = run_while_a_label_is_being_created(
        account, admin, "brand-new", [patch_with(key, url(user), body) for user in users]
    )
    elapsed = time.monotonic() - started

    assert_all_ok(results)
    label = Label.objects.get(account=account, name="brand-new")
    assert Label.objects.filter(account=account).count() == 1
    for user in users:
        assert list(User.objects.get(pk=user.pk).labels.all()) == [label]
    print(f"\n{THREADS} concurrent creations of one label: {elapsed:.2f}s")


def test_concurrent_creation_of_labels_listed_in_opposite_orders_does_not_deadlock(setup):
    """Two requests creating the same new labels, one listing them A..Z and the other Z..A,
    must not lock the names in opposite orders: that is a deadlock, which PostgreSQL breaks by
    failing one of the transactions. The label in the middle is held by a third transaction
    until both requests have inserted their first half."""
    account, admin, key = setup
    users = [ApiUserFactory(account=account) for _ in range(HELD)]
    names = [f"label-{number:02}" for number in range(11)]
    middle = names[len(names) // 2]
    bodies = [
        {"labels": labels(*(names if index % 2 else reversed(names)))}
        for index in range(len(users))
    ]

    started = time.monotonic()
    results = run_while_a_label_is_being_created(
        account,
        admin,
        middle,
        [patch_with(key, url(user), body) for user, body in zip(users, bodies, strict=True)],
    )
    elapsed = time.monotonic() - started

    assert_all_ok(results)
    assert sorted(Label.objects.filter(account=account).values_list("name", flat=True)) == names
    for user in users:
        assert state_of(user)[1] == set(names)
    print(f"\n{len(users)} concurrent creations of {len(names)} labels: {elapsed:.2f}s")


def test_a_patch_that_waited_for_the_lock_reads_the_labels_the_holder_left(setup):
    """What a write diffs against is read under the lock: a PATCH that started while another
    request held the user's lock and linked a label neither links it again (a duplicate link)
    nor records the set as it was before that request."""
    account, admin, key = setup
    user = ApiUserFactory(account=account, name="ci-bot")
    first, second = (LabelFactory(account=account, name=name, changed_by=admin) for name in "ab")
    user.labels.set([first])

    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        waiting = Together([patch_with(key, url(user), {"labels": labels("a", "b", "c")})])
        assert wait_for_lock_waiters(1)
        user.labels.add(second)
        User.objects.filter(pk=user.pk).update(name="relabelled")
    [(status, content)] = waiting.join()

    assert status == 200, content
    assert state_of(user) == ("relabelled", {"a", "b", "c"})
    assert user.history.get().changes == {"labels": {"from": ["a", "b"], "to": ["a", "b", "c"]}}


def test_renames_of_a_label_racing_patches_that_add_or_drop_it_leave_every_search_text_true(
    setup,
):
    """A user's search text holds its labels' names (migration 0009): a rename rewrites the
    holders it sees, a PATCH the user it writes. Neither may miss the other's work."""
    account, admin, key = setup
    label = LabelFactory(account=account, name="shared", changed_by=admin)
    users = [ApiUserFactory(account=account, name=f"bot-{i}") for i in range(THREADS // 2)]
    for user in users[::2]:
        user.labels.set([label])

    def rename(index: int) -> Callable:
        def request() -> tuple[int, bytes]:
            body = {"name": f"shared-{index}"}
            response = client_for(key).patch(f"/labels/users/{label.pk}/", body)
            return response.status_code, response.content

        return request

    def add_or_drop(index: int, user: User) -> Callable:
        # Holders drop the label; the others ask for a name one of the renames gives it, and
        # get the label itself if it has that name when they read it (a new label otherwise).
        names = ["own"] if user in users[::2] else ["own", f"shared-{index}"]
        return patch_with(key, url(user), {"labels": labels(*names)})

    requests = [rename(i) for i in range(len(users))]
    requests += [add_or_drop(i, user) for i, user in enumerate(users)]
    results = run_together(requests)

    failures = [(status, content[:300]) for status, content in results if status not in {200, 400}]
    assert not failures, failures
    for user in User.objects.filter(account=account):
        name, *held = User.objects.values_list("search_text", flat=True).get(pk=user.pk).split("\n")
        assert (name, sorted(held)) == (
            user.name.upper(),
            sorted(n.upper() for n in user.labels.values_list("name", flat=True)),
        )


@pytest.mark.parametrize("action", ["rename", "delete"])
def test_bulk_updates_racing_renames_or_deletion_of_a_label_they_give_do_not_deadlock(
    setup, action
):
    """A rename of a label locks it, then its holders (their search text); a deletion too (their
    history). A bulk update that gives the label to a user while it holds another that has it
    locks the label first (services.api_users.api_users_bulk_update): in the other order, each
    would wait for the other, and PostgreSQL would end one of them (a 503)."""
    account, admin, key = setup
    label = LabelFactory(account=account, name="shared", changed_by=admin)
    users = [ApiUserFactory(account=account, name=f"bot-{i}") for i in range(THREADS // 2)]
    for user in users[1::2]:
        user.labels.set([label])
    # A user without the label and one holding it: the bulk update locks both, then links the
    # first to the label while the second is locked.
    pairs = list(zip(users[::2], users[1::2], strict=False))

    def bulk(index: int) -> Callable:
        ids = [user.id for user in pairs[index % len(pairs)]]
        body = {"ids": ids, "labels": labels("shared", f"own-{index}")}

        def request() -> tuple[int, bytes]:
            response = client_for(key).post("/api-users/bulk/update/", body)
            return response.status_code, response.content

        return request

    def change_the_label(index: int) -> Callable:
        def request() -> tuple[int, bytes]:
            path = f"/labels/users/{label.pk}/"
            if action == "delete":
                response = client_for(key).delete(path)
            else:
                # Never back to `shared`: a bulk update creating a label of that name would
                # wait for the rename to commit (the name's unique index) holding its users.
                response = client_for(key).patch(path, {"name": f"shared-{index}"})
            return response.status_code, response.content

        return request

    requests = [bulk(i) for i in range(THREADS // 2)]
    requests += [change_the_label(i) for i in range(THREADS // 2)]
    results = run_together(requests)

    expected = {200, 204, 404} if action == "delete" else {200}
    failures = [(status, content[:300]) for status, content in results if status not in expected]
    assert not failures, failures


def test_a_rename_waits_for_a_transaction_that_links_the_label_so_neither_misses_the_other(setup):
    """Django's foreign keys are checked at COMMIT, so a new link takes no lock on its label
    until then: the link's trigger takes it (migration 0009). Otherwise the link's transaction
    would write its user's text with the old name while the rename, not seeing the uncommitted
    link, skipped that user."""
    account, admin, _ = setup
    label = LabelFactory(account=account, name="before", changed_by=admin)
    user = ApiUserFactory(account=account, name="bot")
    linking = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with linking.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(
                "INSERT INTO apiusers_user_labels (user_id, label_id) VALUES (%s, %s)",
                [user.pk, label.pk],
            )
            renaming = Together([lambda: Label.objects.filter(pk=label.pk).update(name="after")])
            waited = wait_for_lock_waiters(1, timeout=5)
            cursor.execute("COMMIT")
        renaming.join()
    finally:
        linking.close()

    assert waited
    assert User.objects.values_list("search_text", flat=True).get(pk=user.pk) == "BOT\nAFTER"
