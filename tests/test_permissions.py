"""Who may read and change API users: account-tier roles only."""

import pytest

from apiusers.models import Tier, User

from .conftest import client_for, url
from .factories import ApiUserFactory, TargetFactory, TeamFactory, grant
from .factories import api_user_with_key as with_key

pytestmark = pytest.mark.django_db

FORBIDDEN = {"detail": "You do not have permission to perform this action."}


@pytest.mark.parametrize(
    ("role", "may_get", "may_patch"),
    [
        ("Owner", True, True),
        ("Admin", True, True),
        ("Auditor", True, False),
        ("SecOps", True, False),
        ("Developer", False, False),
        ("Billing", False, False),
    ],
)
def test_account_tier_role_matrix(account, api_user, role, may_get, may_patch):
    client = client_for(with_key(account, role)[1])

    got = client.get(url(api_user))
    patched = client.patch(url(api_user), {"name": "changed"})

    assert got.status_code == (200 if may_get else 403)
    assert patched.status_code == (200 if may_patch else 403)
    if not may_get:
        assert got.json() == FORBIDDEN
    if not may_patch:
        assert patched.json() == FORBIDDEN
        api_user.refresh_from_db()
        assert api_user.name == "ci-bot"


@pytest.mark.parametrize("tier", [Tier.TEAM, Tier.TARGET])
@pytest.mark.parametrize("role", ["Owner", "Admin"])
def test_admin_or_owner_at_team_or_target_tier_grants_nothing(account, api_user, role, tier):
    caller, key = with_key(account, role_name=None)
    scope = {"team": TeamFactory(account=account)} if tier == Tier.TEAM else {}
    scope = scope or {"target": TargetFactory(account=account)}
    grant(caller, role, tier=tier, **scope)
    client = client_for(key)

    assert client.get(url(api_user)).json() == FORBIDDEN
    assert client.patch(url(api_user), {"name": "changed"}).status_code == 403
    assert User.objects.get(pk=api_user.pk).name == "ci-bot"


def test_an_api_user_without_roles_gets_403(account, api_user):
    client = client_for(with_key(account, role_name=None)[1])

    assert client.get(url(api_user)).status_code == 403


def test_a_weaker_role_gets_the_same_403_for_existing_foreign_and_missing_ids(
    account, api_user, foreign_api_user
):
    client = client_for(with_key(account, "Developer")[1])

    answers = {
        client.get(url(user_id)).content
        for user_id in (api_user.id, foreign_api_user.id, "Missing1d234")
    }
    assert answers == {b'{"detail":"You do not have permission to perform this action."}'}


def test_roles_add_up_across_assignments(account, api_user):
    caller, key = with_key(account, "Developer")
    grant(caller, "Auditor")
    client = client_for(key)

    assert client.get(url(api_user)).status_code == 200
    assert client.patch(url(api_user), {"name": "x"}).status_code == 403


def test_a_role_in_another_account_does_not_count(account, other_account):
    theirs = ApiUserFactory(account=other_account)
    client = client_for(with_key(account, "Admin")[1])

    assert client.get(url(theirs)).status_code == 404
