"""The management commands: create_api_user and load_demo."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apiusers.models import Account, ApiKey, Label, Tier, User

from .conftest import client_for, url
from .factories import TargetFactory, TeamFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_api_user_creates_the_account_an_admin_and_a_working_key():
    output = json.loads(run("create_api_user", "ci-bot", "--account", "Acme", "--json"))

    assert list(output) == ["id", "key"]
    user = User.objects.get(id=output["id"])
    assert (user.name, user.is_apiuser, user.account.name) == ("ci-bot", True, "Acme")
    role = user.user_roles.get()
    assert (role.role.name, role.tier) == ("Admin", Tier.ACCOUNT)
    response = client_for(output["key"]).get(url(user))
    assert response.status_code == 200
    assert output["key"] not in response.content.decode()


def test_create_api_user_reuses_an_existing_account():
    account = Account.objects.create(name="Acme")

    output = json.loads(run("create_api_user", "bot", "--account", "Acme", "--json"))

    assert User.objects.get(id=output["id"]).account == account
    assert Account.objects.count() == 1


def test_create_api_user_prints_the_key_and_how_to_use_it():
    output = run("create_api_user", "bot", "--account", "Acme", "--role", "auditor")

    key = ApiKey.objects.get().prefix
    assert "Role: Auditor at the account tier" in output
    assert f"Authorization: JWT {key}." in output


@pytest.mark.parametrize(
    ("tier", "factory"), [(Tier.TEAM, TeamFactory), (Tier.TARGET, TargetFactory)]
)
def test_create_api_user_with_a_team_or_target_scope(tier, factory):
    scope = factory(account=Account.objects.create(name="Acme"))

    output = json.loads(
        run(
            "create_api_user",
            "bot",
            "--account",
            "Acme",
            "--role",
            "Developer",
            "--tier",
            tier,
            f"--{tier}",
            scope.id,
            "--json",
        )
    )

    role = User.objects.get(id=output["id"]).user_roles.get()
    assert (role.tier, getattr(role, tier)) == (tier, scope)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "Wizard"], "No role 'Wizard'"),
        (["--tier", "team"], "--team goes with --tier team"),
        (["--team", "AAAAAAAAAAAA"], "--team goes with --tier team"),
        (
            ["--tier", "target", "--target", "AAAAAAAAAAAA"],
            "No target 'AAAAAAAAAAAA' in this account",
        ),
    ],
)
def test_create_api_user_refuses_bad_arguments_and_creates_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        run("create_api_user", "bot", "--account", "Acme", *args)

    assert not User.objects.exists()


def test_create_api_user_refuses_a_team_of_another_account():
    team = TeamFactory(account=Account.objects.create(name="Other"))

    with pytest.raises(CommandError, match="No team"):
        run("create_api_user", "bot", "--account", "Acme", "--tier", "team", "--team", team.id)

    assert not User.objects.filter(is_apiuser=True).exists()


def demo_key(output: str) -> str:
    lines = output.splitlines()
    return lines[lines.index("API key of the demo Admin API user, shown only now:") + 1].strip()


def test_load_demo_builds_a_usable_demo_and_is_idempotent():
    first = run("load_demo")
    counts = (User.objects.count(), Label.objects.count(), ApiKey.objects.count())
    second = run("load_demo")

    assert (User.objects.count(), Label.objects.count(), ApiKey.objects.count()) == counts
    old_key, new_key = demo_key(first), demo_key(second)
    assert f'curl -H "Authorization: JWT {new_key}" http://127.0.0.1:8000/api-users/' in second
    assert client_for(new_key).get(url("DemoAdm1n2Ky")).status_code == 200
    assert client_for(old_key).get(url("DemoAdm1n2Ky")).status_code == 401
    assert client_for(new_key).patch(url("DemoDep1oyer"), {"name": "x"}).status_code == 200
    assert APIClient().login(email="owner@demo.example", password="demo-owner-password")
