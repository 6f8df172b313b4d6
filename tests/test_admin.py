"""The Django admin: every page a superuser opens works, and no secret shows."""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from apiusers.models import ApiKey, Change, Label, Role, Target, Team, User, UserRole

from .conftest import client_for, url
from .factories import (
    ApiUserFactory,
    LabelFactory,
    TargetFactory,
    TeamFactory,
    UserFactory,
    api_user_with_key,
    grant,
)

pytestmark = pytest.mark.django_db

OPERATOR_EMAIL = "ops@example.com"
OPERATOR_PASSWORD = "a-long-operator-password"
READ_ONLY = {Role, UserRole, ApiKey, Change}


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def operator(db):
    return User.objects.create_superuser(OPERATOR_EMAIL, OPERATOR_PASSWORD, name="Operator")


@pytest.fixture
def browser(operator):
    client = Client()
    assert client.login(email=OPERATOR_EMAIL, password=OPERATOR_PASSWORD)
    return client


@pytest.fixture
def populated(account, admin, api_user):
    """At least one row of every model, so that the lists and change pages render rows."""
    api_user.history.create(actor=admin[0], action=Change.Action.UPDATED, changes={"name": {}})
    return {
        "team": TeamFactory(account=account, name="Platform"),
        "target": TargetFactory(account=account, name="Shop"),
        "human": UserFactory(account=account, name="Person"),
    }


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m.__name__)
def test_every_changelist_answers_200(browser, populated, model):
    response = browser.get(admin_url(model, "changelist"))

    assert response.status_code == 200


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m.__name__)
def test_every_add_page_answers_200_except_on_read_only_models(browser, model):
    response = browser.get(admin_url(model, "add"))

    assert response.status_code == (403 if model in READ_ONLY else 200)


def test_change_pages_answer_200_and_show_no_secret(browser, operator, admin, populated):
    api_user, key = admin
    objects = [
        api_user,
        populated["human"],
        populated["team"],
        populated["target"],
        Label.objects.first(),
        Role.objects.first(),
        UserRole.objects.first(),
        ApiKey.objects.get(user=api_user),
        Change.objects.first(),
    ]
    secrets = [
        key,
        key.split(".")[1],
        ApiKey.objects.get(user=api_user).digest,
        operator.password,
        populated["human"].password,
    ]

    for obj in objects:
        response = browser.get(admin_url(type(obj), "change", obj.pk))
        assert response.status_code == 200, type(obj)
        page = response.content.decode()
        assert not [secret for secret in secrets if secret in page], type(obj)
        assert "pbkdf2" not in page and "md5$" not in page


def test_a_team_and_a_target_are_created_through_the_admin(browser, account):
    team = browser.post(admin_url(Team, "add"), {"account": account.id, "name": "Red team"})
    target = browser.post(
        admin_url(Target, "add"),
        {"account": account.id, "name": "Shop", "url": "https://shop.example.com/"},
    )

    assert team.status_code == target.status_code == 302
    assert Team.objects.get(name="Red team").account == account
    assert Target.objects.get(name="Shop").url == "https://shop.example.com/"


def test_an_invalid_target_is_a_form_error(browser, account):
    response = browser.post(
        admin_url(Target, "add"), {"account": account.id, "name": "Shop", "url": "not a url"}
    )

    assert response.status_code == 200
    assert "Enter a valid URL." in response.content.decode()
    assert not Target.objects.exists()


def test_the_account_of_an_object_cannot_be_changed(browser, account, other_account):
    team = TeamFactory(account=account, name="Platform")

    response = browser.post(
        admin_url(Team, "change", team.pk), {"account": other_account.id, "name": "Renamed"}
    )

    assert response.status_code == 302
    team.refresh_from_db()
    assert (team.account, team.name) == (account, "Renamed")


def test_a_label_created_or_changed_in_the_admin_credits_the_operator(browser, operator, account):
    browser.post(admin_url(Label, "add"), {"account": account.id, "name": "ops", "color": "red"})
    label = Label.objects.get(account=account, name="ops")
    assert label.changed_by == operator

    first_changed = label.changed
    browser.post(admin_url(Label, "change", label.pk), {"name": "ops", "color": "blue"})
    label.refresh_from_db()
    assert (label.color, label.changed_by) == ("blue", operator)
    assert label.changed > first_changed


@pytest.mark.parametrize("view", ["add", "change"])
def test_a_label_name_the_account_has_is_a_form_error(browser, account, view):
    LabelFactory(account=account, name="taken")
    other = LabelFactory(account=account, name="free")
    path = admin_url(Label, "add") if view == "add" else admin_url(Label, "change", other.pk)

    response = browser.post(path, {"account": account.id, "name": "taken", "color": ""})

    assert response.status_code == 200
    assert "Label with this Account and Name already exists." in response.content.decode()
    assert Label.objects.filter(account=account, name="taken").count() == 1


def test_deleting_a_label_in_the_admin_records_it_on_its_api_users(
    browser, operator, account, api_user
):
    label = api_user.labels.get(name="ci")

    response = browser.post(admin_url(Label, "delete", label.pk), {"post": "yes"})

    assert response.status_code == 302
    assert list(api_user.labels.values_list("name", flat=True)) == ["prod"]
    change = Change.objects.get(user=api_user)
    assert change.actor == operator
    assert change.changes == {"labels": {"from": ["ci", "prod"], "to": ["prod"]}}


def test_changing_an_api_user_in_the_admin_records_it(browser, operator, api_user):
    response = browser.post(
        admin_url(User, "change", api_user.pk), {"name": "renamed", "title": "", "active": "on"}
    )

    assert response.status_code == 302
    api_user.refresh_from_db()
    assert (api_user.name, api_user.changed_by) == ("renamed", operator)
    change = Change.objects.get(user=api_user)
    assert (change.actor, change.changes) == (
        operator,
        {"name": {"from": "ci-bot", "to": "renamed"}},
    )


def test_an_api_user_has_no_password_page(browser, api_user, populated):
    api_user_page = browser.get(reverse("admin:auth_user_password_change", args=[api_user.pk]))
    human = populated["human"]
    human_page = browser.get(reverse("admin:auth_user_password_change", args=[human.pk]))

    assert api_user_page.status_code == 403
    assert human_page.status_code == 200


def test_a_person_is_added_with_a_password(browser, operator, account):
    response = browser.post(
        admin_url(User, "add"),
        {
            "account": account.id,
            "email": "new.person@example.com",
            "name": "New Person",
            "password1": "a-fine-long-password",
            "password2": "a-fine-long-password",
        },
    )

    assert response.status_code == 302
    person = User.objects.get(email="new.person@example.com")
    assert (person.account, person.is_apiuser, person.changed_by) == (account, False, operator)
    assert person.check_password("a-fine-long-password")


def test_a_person_needs_an_email(browser, account):
    response = browser.post(
        admin_url(User, "add"),
        {"account": account.id, "email": "", "name": "x", "password1": "p4ss-w0rd-long"},
    )

    assert response.status_code == 200
    assert not User.objects.filter(name="x").exists()


def test_someone_who_is_not_staff_is_sent_to_the_login(account):
    UserFactory(account=account, email="someone@example.com")
    client = Client()
    assert client.login(email="someone@example.com", password="correct horse battery staple")

    response = client.get(admin_url(Team, "changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("is_apiuser", [False, True], ids=["person", "API user"])
def test_the_last_active_owner_is_not_deactivated_in_the_admin(browser, account, is_apiuser):
    factory = ApiUserFactory if is_apiuser else UserFactory
    owner = factory(account=account, name="Owner")
    grant(owner, "Owner")
    body = {"name": "Owner", "title": "", "account": account.pk, "email": owner.email}

    refused = browser.post(admin_url(User, "change", owner.pk), body)
    grant(UserFactory(account=account), "Owner")
    accepted = browser.post(admin_url(User, "change", owner.pk), body)

    assert refused.status_code == 200
    assert "The account must keep at least one active Owner" in refused.content.decode()
    assert accepted.status_code == 302
    owner.refresh_from_db()
    assert owner.active is False


def test_an_api_user_deactivated_in_the_admin_is_refused_at_once(browser, account, api_user):
    user, key = api_user_with_key(account, "Auditor", name="auditor-bot")
    assert client_for(key).get(url(api_user)).status_code == 200  # the worker keeps its row
    body = {"name": user.name, "title": "", "account": account.pk, "email": user.email}

    assert browser.post(admin_url(User, "change", user.pk), body).status_code == 302

    response = client_for(key).get(url(api_user))
    assert response.status_code == 401
    assert response.json() == {"detail": "Incorrect authentication credentials."}
