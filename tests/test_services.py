"""The rules of the write services, called directly: authority, the last Owner, label sets.

The HTTP tests show each rule on every route; these pin the functions that hold them."""

import pytest
from rest_framework.exceptions import PermissionDenied

from apiusers.models import Label, Role, Tier, User
from apiusers.services import authority
from apiusers.services.api_users import set_labels

from .factories import AccountFactory, ApiUserFactory, LabelFactory, TeamFactory, UserFactory, grant

pytestmark = pytest.mark.django_db


def role(name: str) -> Role:
    return Role.objects.get(name=name)


@pytest.fixture
def admin(account):
    user = ApiUserFactory(account=account)
    grant(user, "Admin")
    return user


def test_held_by_is_the_union_of_account_tier_roles_only(account):
    user = ApiUserFactory(account=account)
    grant(user, "Auditor")
    grant(user, "Owner", tier=Tier.TEAM, team=TeamFactory(account=account))

    assert authority.held_by(user) == {"users.view"}


def test_a_superuser_holds_every_permission(account):
    operator = UserFactory(account=account, is_superuser=True)

    assert authority.held_by(operator) == {"users.view", "users.manage", "account.own"}


def test_holdings_count_roles_in_every_scope(account):
    user = ApiUserFactory(account=account)
    grant(user, "Developer")
    grant(user, "Owner", tier=Tier.TEAM, team=TeamFactory(account=account))

    assert authority.holdings([user.pk]) == {
        user.pk: frozenset({"users.view", "users.manage", "account.own"})
    }


def test_an_admin_acts_on_admins_and_below_but_not_on_owners(admin):
    authority.check_acts_on(
        admin, {"a": frozenset({"users.view", "users.manage"}), "b": frozenset()}
    )

    with pytest.raises(PermissionDenied) as refused:
        authority.check_acts_on(admin, {"owner": frozenset({"account.own"})})
    assert str(refused.value.detail) == (
        "You cannot change the API user owner: it has permissions you do not hold."
    )


def test_grants_and_removals_need_every_permission_of_the_role(admin):
    authority.check_grants(admin, [role("Admin"), role("Developer")])
    authority.check_takes_away(admin, [role("Auditor")])

    with pytest.raises(PermissionDenied, match="cannot grant the Owner role"):
        authority.check_grants(admin, [role("Developer"), role("Owner")])
    with pytest.raises(PermissionDenied, match="cannot take away the Owner role"):
        authority.check_takes_away(admin, [role("Owner")])


def test_active_owners_are_active_undeleted_account_tier_owners(account):
    owner, inactive, on_team, admin = (ApiUserFactory(account=account) for _ in range(4))
    grant(owner, "Owner")
    grant(inactive, "Owner")
    User.objects.filter(pk=inactive.pk).update(active=False)
    grant(on_team, "Owner", tier=Tier.TEAM, team=TeamFactory(account=account))
    grant(admin, "Admin")

    found = authority.active_owners([owner.pk, inactive.pk, on_team.pk, admin.pk])

    assert found == {owner.pk}


def test_the_guard_refuses_to_lose_the_last_owner_only(account):
    first, second = ApiUserFactory(account=account), UserFactory(account=account)
    grant(first, "Owner")
    grant(second, "Owner")

    authority.guard_last_owner(account.pk, [first.pk])
    authority.guard_last_owner(account.pk, [])
    with pytest.raises(authority.LastOwner) as refused:
        authority.guard_last_owner(account.pk, [first.pk, second.pk])
    assert refused.value.status_code == 409
    assert str(refused.value.detail) == authority.LAST_OWNER


def test_set_labels_replaces_each_users_set_and_reports_only_real_changes(account, admin):
    keep = LabelFactory(account=account, name="keep")
    same, other = ApiUserFactory(account=account), ApiUserFactory(account=account)
    same.labels.set([keep])
    drop = LabelFactory(account=account, name="drop")
    other.labels.set([drop, keep])

    changes = set_labels(
        users=[same, other],
        actor=admin,
        items=[{"name": "keep", "color": "#FFFFFF"}],
        current={same.pk: {keep.pk: "keep"}, other.pk: {drop.pk: "drop", keep.pk: "keep"}},
    )

    assert changes == {other.pk: {"from": ["drop", "keep"], "to": ["keep"]}}
    assert list(other.labels.values_list("name", flat=True)) == ["keep"]
    assert Label.objects.get(pk=keep.pk).color == keep.color


def test_set_labels_creates_missing_labels_once_in_the_users_account(account, admin):
    users = ApiUserFactory.create_batch(3, account=account)
    elsewhere = AccountFactory()
    LabelFactory(account=elsewhere, name="new")

    changes = set_labels(
        users=users,
        actor=admin,
        items=[{"name": "new", "color": "#000000"}],
        current={user.pk: {} for user in users},
    )

    assert set(changes) == {user.pk for user in users}
    created = Label.objects.get(account=account, name="new")
    assert (created.color, created.changed_by) == ("#000000", admin)
    assert all(list(user.labels.all()) == [created] for user in users)
