"""The management commands: create_api_user and load_demo."""

import json
import os
import subprocess
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apiusers.models import Account, ApiKey, Label, Tier, User

from .conftest import client_for, url
from .factories import TargetFactory, TeamFactory
from .live import ROOT

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


def test_the_printed_patch_changes_the_labels_and_a_rerun_puts_them_back():
    output = run("load_demo")
    patch = next(line for line in output.splitlines() if "curl -X PATCH" in line)
    body = json.loads(patch.split(" -d '", 1)[1].split("' ", 1)[0])
    key = demo_key(output)

    changed = client_for(key).patch(url("DemoAdm1n2Ky"), body)
    assert changed.status_code == 200
    assert [label["name"] for label in changed.json()["labels"]] == ["ci", "reviewed"]

    again = run("load_demo")
    shown = client_for(demo_key(again)).get(url("DemoAdm1n2Ky"))
    assert [label["name"] for label in shown.json()["labels"]] == ["ci"]


def test_load_demo_prints_urls_with_the_port_of_make_run(monkeypatch):
    monkeypatch.setenv("PORT", "8123")

    output = run("load_demo")

    assert "Browse: http://127.0.0.1:8123/api-users/DemoAdm1n2Ky/" in output
    assert "8000" not in output


def test_the_readme_command_lines_work_as_written(tmp_path):
    """README's create_api_user block, run by a shell without any setting of ours in its
    environment (a fresh clone), but on a database of the test's own."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("Create an API user and its key from the command line", 1)[1]
    block = block.split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [
        line
        for line in block.replace("\\\n", "").splitlines()
        if not line.startswith("make ") and "<" not in line
    ]
    ours = ("DJANGO_", "DATABASE_", "THROTTLE_", "REDIS_URL", "API_KEY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'readme.sqlite3'}"

    result = subprocess.run(
        ["/bin/bash", "-euc", "\n".join(lines)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "Created API user 'ci-bot'" in result.stdout
    assert json.loads(result.stdout.strip().splitlines()[-1]).keys() == {"id", "key"}


def test_make_serve_without_a_secret_key_says_what_it_needs():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}

    result = subprocess.run(
        ["/usr/bin/make", "--no-print-directory", "-s", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 2
    assert result.stdout.startswith(
        "make serve runs with DEBUG off and needs DJANGO_SECRET_KEY, e.g.\n"
    )
