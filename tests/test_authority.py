"""Who may act on whom: a caller acts only on API users whose permissions it holds itself, and an
account never loses its last active Owner. Refused writes change nothing."""

import pytest
from django.db import transaction

from apiusers.models import ApiKey, Change, Label, Role, Tier, User, UserRole
from apiusers.services.api_users import api_user_delete
from apiusers.services.authority import LAST_OWNER
from apiusers.services.user_roles import Grant, user_roles_change

from .conftest import client_for, url
from .factories import ApiUserFactory, TeamFactory, UserFactory, api_user_with_key, grant
from .test_concurrency import Together, wait_for_lock_waiters
from .test_user_roles import BULK, BULK_CREATE, BULK_DELETE, BULK_UPDATE, item, roles_url

pytestmark = pytest.mark.django_db

BULK_API_USERS = "/api-users/bulk/update/"
CONFLICT = {"detail": LAST_OWNER}

# The roles an API user acted on may hold, by name: (role, tier) pairs.
TARGETS = {
    "Owner": [("Owner", Tier.ACCOUNT)],
    "Owner on a team": [("Owner", Tier.TEAM)],
    "Admin": [("Admin", Tier.ACCOUNT)],
    "Auditor": [("Auditor", Tier.ACCOUNT)],
    "SecOps": [("SecOps", Tier.ACCOUNT)],
    "Billing": [("Billing", Tier.ACCOUNT)],
    "Developer": [("Developer", Tier.ACCOUNT)],
    "no role": [],
}
# Which of them each caller may act on.
MAY_ACT_ON = {
    "Owner": set(TARGETS),
    "Admin": set(TARGETS) - {"Owner", "Owner on a team"},
}


def give(user: User, roles: list[tuple[str, str]], team) -> None:
    for role, tier in roles:
        grant(user, role, tier=tier, **({"team": team} if tier == Tier.TEAM else {}))


# Every route that writes to an API user, its key or its roles: (target, its Developer
# assignment on a team, that team) -> (method, path, body).
WRITES = {
    "PATCH": lambda user, dev, team: ("patch", url(user), {"name": "renamed"}),
    "PUT": lambda user, dev, team: ("put", url(user), {"name": "renamed", "labels": []}),
    "DELETE": lambda user, dev, team: ("delete", url(user), None),
    "bulk update": lambda user, dev, team: (
        "post",
        BULK_API_USERS,
        {"ids": [user.id], "active": False},
    ),
    "rotate key": lambda user, dev, team: ("post", f"{url(user)}rotate-key/", None),
    "role create": lambda user, dev, team: ("post", roles_url(user), item("Billing", team)),
    "role update": lambda user, dev, team: ("put", roles_url(user, dev), item("Billing", team)),
    "role partial update": lambda user, dev, team: (
        "patch",
        roles_url(user, dev),
        {"role": {"id": item("Billing")["role"]["id"]}},
    ),
    "role delete": lambda user, dev, team: ("delete", roles_url(user, dev), None),
    "bulk role create": lambda user, dev, team: (
        "post",
        BULK_CREATE,
        {"api_users": [user.id], "user_roles": [item("Billing", team)]},
    ),
    "bulk role delete": lambda user, dev, team: ("post", BULK_DELETE, {"ids": [dev.id]}),
    "bulk role update": lambda user, dev, team: (
        "post",
        BULK_UPDATE,
        {"user_roles": [item("Billing", team, id=dev.id)]},
    ),
    "bulk role operations": lambda user, dev, team: ("post", BULK, {"delete": [dev.id]}),
}


def send(client, method: str, path: str, body):
    return (
        getattr(client, method)(path, body) if body is not None else getattr(client, method)(path)
    )


def snapshot() -> tuple:
    """Everything a write could change, in a comparable form."""
    return (
        sorted(User.objects.values_list("id", "name", "active", "deleted", "changed")),
        sorted(UserRole.objects.values_list("id", "user_id", "role_id", "tier", "team_id")),
        sorted(ApiKey.objects.values_list("prefix", "expires")),
        sorted(User.labels.through.objects.values_list("user_id", "label_id")),
        Change.objects.count(),
        Label.objects.count(),
    )


@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.parametrize("target_roles", list(TARGETS))
@pytest.mark.parametrize("caller_role", list(MAY_ACT_ON))
def test_a_caller_acts_only_on_api_users_whose_permissions_it_holds(
    account, caller_role, target_roles, write
):
    # Another Owner keeps the account owned whatever the write does.
    grant(UserFactory(account=account), "Owner")
    _, key = api_user_with_key(account, caller_role)
    team = TeamFactory(account=account)
    target = ApiUserFactory(account=account)
    give(target, TARGETS[target_roles], team)
    dev = grant(target, "Developer", tier=Tier.TEAM, team=team)
    ApiKey.objects.create(user=target, prefix=target.id[:8], digest="0" * 64)
    before = snapshot()

    response = send(client_for(key), *WRITES[write](target, dev, team))

    if target_roles in MAY_ACT_ON[caller_role]:
        assert response.status_code in {200, 201, 204}, response.content
    else:
        assert (response.status_code, response.json()) == (
            403,
            {
                "detail": f"You cannot change the API user {target.id}: "
                "it has permissions you do not hold."
            },
        )
        assert snapshot() == before


def test_an_admin_cannot_take_over_an_owner_through_its_key(account, admin, admin_client):
    owner, owner_key = api_user_with_key(account, "Owner", name="owner-bot")

    rotated = admin_client.post(f"{url(owner)}rotate-key/")
    # The Owner's own key still works and is still the only one it has.
    still = client_for(owner_key).get(url(owner))
    granted = admin_client.post(roles_url(admin[0]), item("Owner"))

    assert rotated.status_code == 403
    assert "key" not in rotated.json()
    assert still.status_code == 200
    assert ApiKey.objects.filter(user=owner).count() == 1
    assert granted.status_code == 403
    assert not admin[0].user_roles.filter(role__name="Owner").exists()


def test_an_admin_cannot_deactivate_or_delete_owners_in_bulk_with_others(account, admin_client):
    owner, _ = api_user_with_key(account, "Owner", name="owner-bot")
    others = ApiUserFactory.create_batch(3, account=account)
    before = snapshot()

    response = admin_client.post(
        BULK_API_USERS, {"ids": [*(user.id for user in others), owner.id], "active": False}
    )

    assert response.status_code == 403
    assert snapshot() == before


# The last active Owner ------------------------------------------------------------------------


@pytest.fixture
def sole_owner(account):
    """The account's only Owner: an API user, with its key and its Owner assignment."""
    owner, key = api_user_with_key(account, "Owner", name="owner-bot")
    return owner, client_for(key), owner.user_roles.get()


SELF_REMOVALS = {
    "PATCH inactive": lambda owner, role: ("patch", url(owner), {"active": False}),
    "PUT inactive": lambda owner, role: (
        "put",
        url(owner),
        {"name": "owner-bot", "labels": [], "active": False},
    ),
    "DELETE": lambda owner, role: ("delete", url(owner), None),
    "bulk update inactive": lambda owner, role: (
        "post",
        BULK_API_USERS,
        {"ids": [owner.id], "active": False},
    ),
    "role delete": lambda owner, role: ("delete", roles_url(owner, role), None),
    "role update to Admin": lambda owner, role: ("put", roles_url(owner, role), item("Admin")),
    "role moved to a team": lambda owner, role: (
        "patch",
        roles_url(owner, role),
        {"scope": {"tier": "team", "team": {"id": TeamFactory(account=owner.account).id}}},
    ),
    "bulk role delete": lambda owner, role: ("post", BULK_DELETE, {"ids": [role.id]}),
    "bulk role update": lambda owner, role: (
        "post",
        BULK_UPDATE,
        {"user_roles": [item("Admin", id=role.id)]},
    ),
    "bulk role operations": lambda owner, role: ("post", BULK, {"delete": [role.id]}),
}


@pytest.mark.parametrize("removal", list(SELF_REMOVALS))
def test_the_last_active_owner_cannot_demote_deactivate_or_delete_itself(sole_owner, removal):
    owner, client, role = sole_owner
    method, path, body = SELF_REMOVALS[removal](owner, role)
    before = snapshot()

    response = send(client, method, path, body)

    assert (response.status_code, response.json()) == (409, CONFLICT)
    assert snapshot() == before


@pytest.mark.parametrize("removal", list(SELF_REMOVALS))
def test_an_owner_may_step_down_while_another_active_owner_remains(account, sole_owner, removal):
    grant(UserFactory(account=account, name="Person"), "Owner")
    owner, client, role = sole_owner

    response = send(client, *SELF_REMOVALS[removal](owner, role))

    assert response.status_code in {200, 204}, response.content


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(lambda account: UserFactory(account=account, active=False), id="inactive"),
        pytest.param(
            lambda account: ApiUserFactory(account=account, deleted="2020-01-01T00:00:00Z"),
            id="deleted",
        ),
    ],
)
def test_an_inactive_or_deleted_owner_does_not_count(account, sole_owner, other):
    grant(other(account), "Owner")
    owner, client, _ = sole_owner

    response = client.patch(url(owner), {"active": False})

    assert (response.status_code, response.json()) == (409, CONFLICT)


def test_an_owner_on_a_team_does_not_count(account, sole_owner):
    grant(UserFactory(account=account), "Owner", tier=Tier.TEAM, team=TeamFactory(account=account))
    owner, client, _ = sole_owner

    assert client.delete(url(owner)).status_code == 409


def test_an_owner_of_another_account_does_not_count(other_account, sole_owner):
    grant(UserFactory(account=other_account), "Owner")
    owner, client, _ = sole_owner

    assert client.delete(url(owner)).status_code == 409


def test_the_last_owner_may_still_be_renamed_and_have_its_key_rotated(sole_owner):
    owner, client, _ = sole_owner

    assert client.patch(url(owner), {"name": "still-owner", "active": True}).status_code == 200
    assert client.post(f"{url(owner)}rotate-key/").status_code == 201


def test_an_owner_may_deactivate_an_owner_that_is_already_inactive(account, sole_owner):
    inactive = ApiUserFactory(account=account, active=False)
    grant(inactive, "Owner")
    _, client, _ = sole_owner

    assert client.patch(url(inactive), {"active": False}).status_code == 200


# Races (PostgreSQL) ---------------------------------------------------------------------------


@pytest.fixture
def postgresql_only(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("Row locks need PostgreSQL; SQLite serialises writers itself.")


OWNERS = 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_owners_stepping_down_leave_exactly_one(postgresql_only, account):
    owners = [api_user_with_key(account, "Owner", name=f"owner-{i}") for i in range(OWNERS)]

    def step_down(index, owner, key):
        def request():
            client = client_for(key)
            if index % 2:
                return client.patch(url(owner), {"active": False}).status_code
            return client.delete(roles_url(owner, owner.user_roles.get())).status_code

        return request

    results = Together(
        [step_down(index, owner, key) for index, (owner, key) in enumerate(owners)]
    ).join()

    assert sorted(results).count(409) == 1
    assert all(status in {200, 204, 409} for status in results)
    remaining = UserRole.objects.filter(
        role__name="Owner", tier=Tier.ACCOUNT, user__active=True, user__deleted__isnull=True
    )
    assert remaining.count() == 1


# Every write that waits for the row of an API user being deleted answers 404 once it is gone,
# and writes nothing: (method, path, body) for that user.
WAITING_WRITES = {
    "PATCH": lambda user: ("patch", url(user), {"name": "renamed"}),
    "PUT": lambda user: ("put", url(user), {"name": "renamed", "labels": []}),
    "DELETE": lambda user: ("delete", url(user), None),
    "rotate key": lambda user: ("post", f"{url(user)}rotate-key/", None),
    "bulk update": lambda user: ("post", BULK_API_USERS, {"ids": [user.id], "name": "renamed"}),
    "role create": lambda user: ("post", roles_url(user), item("Billing")),
    "bulk role create": lambda user: (
        "post",
        BULK_CREATE,
        {"api_users": [user.id], "user_roles": [item("Billing")]},
    ),
}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("write", list(WAITING_WRITES))
def test_a_write_waiting_for_a_deletion_answers_404_and_writes_nothing(
    postgresql_only, account, write
):
    owner, key = api_user_with_key(account, "Owner", name="owner-bot")
    doomed = ApiUserFactory(account=account, name="doomed")
    method, path, body = WAITING_WRITES[write](doomed)

    def request():
        response = send(client_for(key), method, path, body)
        return response.status_code, response.json()

    with transaction.atomic():
        api_user_delete(user=doomed, actor=owner)
        waiting = Together([request])
        assert wait_for_lock_waiters(1)
    [result] = waiting.join()

    if write == "bulk update":
        # An id in a body that names no API user is a 400 on that field, however it came to be.
        assert result == (400, {"ids": [f'Invalid pk "{doomed.id}" - object does not exist.']})
    else:
        assert result == (404, {"detail": "Not found."})
    doomed.refresh_from_db()
    assert (doomed.name, doomed.user_roles.count(), doomed.api_keys.count()) == ("doomed", 0, 0)
    assert list(doomed.history.values_list("action", flat=True)) == [Change.Action.DELETED]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_patch_waiting_while_its_user_becomes_an_owner_is_refused(postgresql_only, account):
    """The roles a write checks are read under the lock: an Admin's PATCH that waited while an
    Owner made its user an Owner is a 403, although the user held no Owner role when the PATCH
    began."""
    owner, _ = api_user_with_key(account, "Owner", name="owner-bot")
    _, admin_key = api_user_with_key(account, "Admin", name="admin-bot")
    user = ApiUserFactory(account=account, name="ci-bot")
    owner_role = {"role": Role.objects.get(name="Owner"), "tier": Tier.ACCOUNT}

    def request():
        response = client_for(admin_key).patch(url(user), {"name": "renamed"})
        return response.status_code, response.json()

    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        waiting = Together([request])
        assert wait_for_lock_waiters(1)
        user_roles_change(
            actor=owner, grants=[Grant(user.pk, {**owner_role, "team": None, "target": None})]
        )
    [result] = waiting.join()

    assert result == (
        403,
        {
            "detail": f"You cannot change the API user {user.id}: "
            "it has permissions you do not hold."
        },
    )
    user.refresh_from_db()
    assert user.name == "ci-bot"
