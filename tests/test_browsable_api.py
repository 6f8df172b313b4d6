"""The browsable API: form bodies as its HTML form sends them, and the pages a person sees.

Pages are requested as a browser does (`Accept: text/html`) by a human logged in with a session,
with DEBUG off as in production.
"""

import re

import pytest
from rest_framework.test import APIClient

from apiusers.models import User
from apiusers.renderers import SPARE_ROWS, error_messages

from .conftest import url
from .factories import LabelFactory, UserFactory, grant

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
HTML = "text/html"
PATTERN = ["This value does not match the required pattern."]
# The session, its user, the user's permissions, its account, then the API user, its labels and
# its roles: the page's forms are drawn from the object already read, at no further query.
DETAIL_PAGE_QUERIES = 7
BLANK = ["This field may not be blank."]
AS_THEY_WERE = {"ci": "#00FF00", "prod": "#FF0000"}


def labels_of(user: User) -> dict[str, str]:
    return dict(User.objects.get(pk=user.pk).labels.values_list("name", "color"))


@pytest.fixture
def browser(account):
    """A session of a human Owner of `account`, as after logging in at /api-auth/login/."""
    owner = UserFactory(account=account, email="owner@example.com", name="Owner")
    grant(owner, "Owner")
    client = APIClient()
    client.force_login(owner)
    return client


def page(response) -> str:
    assert response["Content-Type"] == "text/html; charset=utf-8"
    return response.content.decode()


def inputs(html: str) -> dict[str, str]:
    """The value of each text input of the page's HTML form, by name."""
    form = html[html.index('id="put-object-form"') :]
    fields = [
        dict(re.findall(r'([a-z-]+)="([^"]*)"', tag)) for tag in re.findall(r"<input[^>]*>", form)
    ]
    return {
        field["name"]: field.get("value", "") for field in fields if field.get("type") == "text"
    }


def patch_form(client, user, body: str):
    return client.patch(url(user), body, content_type=FORM)


def spare_rows(first: int) -> dict[str, str]:
    """The inputs of the form's empty rows, the first of them numbered `first`."""
    return {
        f"labels[{i}]{column}": ""
        for i in range(first, first + SPARE_ROWS)
        for column in ("name", "color")
    }


# Form bodies ----------------------------------------------------------------------------------


def test_a_form_row_whose_name_and_color_are_both_empty_is_ignored(admin_client, api_user):
    response = patch_form(
        admin_client,
        api_user,
        "labels[0]name=ci&labels[0]color=&labels[1]name=&labels[1]color="
        "&labels[2]name=new&labels[2]color=%23123456&labels[3]name=&labels[3]color=",
    )

    assert response.status_code == 200, response.json()
    assert response.json() == admin_client.get(url(api_user)).json()
    assert labels_of(api_user) == {"ci": "#00FF00", "new": "#123456"}


@pytest.mark.parametrize("method", ["patch", "put"])
def test_a_form_whose_label_rows_are_all_empty_clears_the_labels(admin_client, api_user, method):
    response = getattr(admin_client, method)(
        url(api_user),
        "name=ci-bot&labels[0]name=&labels[0]color=&labels[1]name=&labels[1]color=",
        content_type=FORM,
    )

    assert response.status_code == 200, response.json()
    assert response.json()["labels"] == []
    assert labels_of(api_user) == {}
    assert api_user.history.get(action="updated").changes == {
        "labels": {"from": ["ci", "prod"], "to": []}
    }


def test_a_form_without_label_rows_leaves_the_labels_as_they_are(admin_client, api_user):
    response = patch_form(admin_client, api_user, "name=renamed")

    assert response.status_code == 200
    assert labels_of(api_user) == AS_THEY_WERE


def test_a_row_with_only_its_name_empty_is_validated(admin_client, api_user):
    response = patch_form(admin_client, api_user, "labels[0]name=&labels[0]color=%23000000")

    assert response.status_code == 400
    assert response.json() == {"labels": {"0": {"name": BLANK}}}
    assert labels_of(api_user) == AS_THEY_WERE


def test_form_errors_name_a_row_by_its_index_in_the_body(admin_client, api_user):
    response = patch_form(
        admin_client,
        api_user,
        "labels[0]name=&labels[0]color=&labels[1]name=x&labels[1]color=%23000000"
        "&labels[2]name=&labels[2]color=&labels[3]name=y&labels[3]color=not+a+colour",
    )

    assert response.status_code == 400
    assert response.json() == {"labels": {"3": {"color": PATTERN}}}
    assert labels_of(api_user) == AS_THEY_WERE


def test_a_create_form_ignores_empty_rows_too(admin_client):
    response = admin_client.post(
        "/api-users/",
        {
            "name": "new-bot",
            "active": ["false", "true"],
            "labels[0]name": "",
            "labels[0]color": "",
            "labels[1]name": "ci",
            "labels[1]color": "#00FF00",
        },
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    created = User.objects.get(pk=response.json()["id"])
    assert labels_of(created) == {"ci": "#00FF00"}
    # The checkbox sends a hidden false, then true when ticked: the last value wins.
    assert created.active is True


def test_an_unticked_box_sends_the_hidden_false_and_deactivates(admin_client, api_user):
    response = patch_form(admin_client, api_user, "active=false")

    assert response.status_code == 200
    assert User.objects.get(pk=api_user.pk).active is False


def test_empty_labels_in_a_json_body_are_still_refused(admin_client, api_user):
    response = admin_client.patch(url(api_user), {"labels": [{"name": "", "color": ""}]})

    assert response.status_code == 400
    assert response.json() == {"labels": {"0": {"name": BLANK}}}


# Pages --------------------------------------------------------------------------------------


def test_the_login_page_asks_for_email_and_password():
    html = page(APIClient().get("/api-auth/login/?next=/api-users/"))

    assert "Probely API Users" in html
    assert "Email:" in html
    assert 'name="password"' in html


def test_the_list_page_links_to_each_api_user(browser, api_user, admin):
    response = browser.get("/api-users/", HTTP_ACCEPT=HTML)

    assert response.status_code == 200
    html = page(response)
    assert f'<a href="http://testserver/api-users/{api_user.id}/">ci-bot</a>' in html
    assert f'<a href="http://testserver/api-users/{admin[0].id}/">admin-bot</a>' in html
    assert 'href="/docs/"' in html
    # The creation form: labels as empty rows, roles left to the raw data form.
    assert 'name="labels[0]name"' in html
    assert "Set user roles in the Raw data form (JSON)." in html
    assert "Lists are not currently supported" not in html


def test_the_detail_page_form_shows_the_labels_as_rows_and_edits_with_patch(browser, api_user):
    response = browser.get(url(api_user), HTTP_ACCEPT=HTML)

    assert response.status_code == 200
    html = page(response)
    assert inputs(html) == {
        "name": "ci-bot",
        "labels[0]name": "ci",
        "labels[0]color": "#00FF00",
        "labels[1]name": "prod",
        "labels[1]color": "#FF0000",
        **spare_rows(2),
    }
    assert '<input type="hidden" name="active" value="false">' in html
    assert '<input type="checkbox" name="active" value="true" checked>' in html
    assert '$("#put-object-form form").attr("data-method", "PATCH")' in html


def test_a_refused_patch_shows_each_error_in_words_and_by_its_input(browser, api_user):
    response = browser.patch(
        url(api_user),
        {
            "name": "renamed",
            "labels[0]name": "ci",
            "labels[0]color": "#00FF00",
            "labels[1]name": "new",
            "labels[1]color": "not a colour",
            "labels[2]name": "",
            "labels[2]color": "",
        },
        format="multipart",
        HTTP_ACCEPT=HTML,
    )

    assert response.status_code == 400
    html = page(response)
    assert "HTTP 400 Bad Request.</strong>\n      Nothing was changed:" in html
    assert "<li>labels[1]color: This value does not match the required pattern.</li>" in html
    # The form holds what was sent, the error under its input, then fresh spare rows.
    assert inputs(html) == {
        "name": "renamed",
        "labels[0]name": "ci",
        "labels[0]color": "#00FF00",
        "labels[1]name": "new",
        "labels[1]color": "not a colour",
        **spare_rows(2),
    }
    assert re.search(
        r'name="labels\[1\]color" value="not a colour"[^>]*>\s*'
        r'<span class="help-block">This value does not match the required pattern.</span>',
        html,
    )
    assert User.objects.get(pk=api_user.pk).name == "ci-bot"


def test_after_a_patch_the_form_starts_from_the_api_user_as_it_now_is(browser, api_user):
    response = browser.patch(
        url(api_user), {"name": "renamed", "labels": []}, format="json", HTTP_ACCEPT=HTML
    )

    assert response.status_code == 200
    html = page(response)
    assert inputs(html) == {
        "name": "renamed",
        **spare_rows(0),
    }


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api-users/111111111111/", 404, "Not found."),
        ("/api-users/?page=9", 404, "Invalid page."),
    ],
)
def test_error_pages_render_their_message(browser, path, status, message):
    response = browser.get(path, HTTP_ACCEPT=HTML)

    assert response.status_code == status
    assert f"<li>{message}</li>" in page(response)


def test_a_person_without_the_right_role_sees_the_refusal(account, api_user):
    developer = UserFactory(account=account)
    grant(developer, "Developer")
    client = APIClient()
    client.force_login(developer)

    response = client.get(url(api_user), HTTP_ACCEPT=HTML)

    assert response.status_code == 403
    assert "<li>You do not have permission to perform this action.</li>" in page(response)


def test_the_detail_page_costs_the_same_queries_whatever_the_number_of_labels(
    browser, account, api_user, admin, django_assert_num_queries
):
    with django_assert_num_queries(DETAIL_PAGE_QUERIES):
        response = browser.get(url(api_user), HTTP_ACCEPT=HTML)
    assert response.status_code == 200

    api_user.labels.add(*LabelFactory.create_batch(20, account=account, changed_by=admin[0]))

    with django_assert_num_queries(DETAIL_PAGE_QUERIES):
        response = browser.get(url(api_user), HTTP_ACCEPT=HTML)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("errors", "messages"),
    [
        ({"detail": "Not found."}, ["Not found."]),
        ({"name": ["Too long.", "Bad."]}, ["name: Too long.", "name: Bad."]),
        ({"labels": ["Label names must be unique."]}, ["labels: Label names must be unique."]),
        ({"labels": {"non_field_errors": ["At most 100."]}}, ["labels: At most 100."]),
        ({"labels": {2: {"color": ["Bad colour."]}}}, ["labels[2]color: Bad colour."]),
        (
            {"user_roles": {"0": {"scope": {"team": {"id": ["Invalid pk."]}}}}},
            ["user_roles[0]scope.team.id: Invalid pk."],
        ),
    ],
)
def test_error_messages_name_the_input_as_a_form_does(errors, messages):
    assert list(error_messages(errors)) == messages


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("/api-users/", "API Users"),
        ("/api-users/{id}/", "API User"),
        ("/api-users/{id}/history/", "API User History"),
        ("/api-users/{id}/key/", "API User Key"),
        ("/api-users/{id}/roles/", "API User Roles"),
        ("/labels/users/", "User Labels"),
        ("/roles/", "Roles"),
        ("/teams/", "Teams"),
        ("/targets/", "Targets"),
        ("/", "API Root"),
    ],
)
def test_pages_are_titled_in_the_docs_words(browser, api_user, path, title):
    html = page(browser.get(path.format(id=api_user.id), HTTP_ACCEPT="text/html"))

    assert f"<title>{title} \u2013 Probely API Users</title>" in html
    assert f"<h1>{title}</h1>" in html


def test_the_api_root_links_to_the_resources_and_the_docs_without_a_key():
    answer = APIClient().get("/", HTTP_AUTHORIZATION="JWT not-looked-at")

    assert answer.status_code == 200
    assert answer.json() == {
        "api-users": "http://testserver/api-users/",
        "user-labels": "http://testserver/labels/users/",
        "roles": "http://testserver/roles/",
        "teams": "http://testserver/teams/",
        "targets": "http://testserver/targets/",
        "docs": "http://testserver/docs/",
        "redoc": "http://testserver/redoc/",
        "schema": "http://testserver/schema/",
    }


def test_action_pages_are_titled_in_the_docs_words(browser, api_user):
    html = page(browser.get(f"/api-users/{api_user.id}/rotate-key/", HTTP_ACCEPT="text/html"))

    assert "<title>Rotate API User Key \u2013 Probely API Users</title>" in html


def test_the_filter_form_names_each_field_by_its_query_parameter(browser, api_user):
    html = page(browser.get("/api-users/", HTTP_ACCEPT="text/html"))
    form = html.split('class="form filter-form"', 1)[1].split("</form>", 1)[0]

    names = re.findall(r'<label for="id_(\w+)"><code>(\w+)</code></label>', form)
    assert all(name == shown for name, shown in names)
    assert {"label_logical_operator", "exclude_team", "no_access"} <= {name for name, _ in names}
    assert "[invalid name]" not in form
    assert "User roles" not in form
    assert '<option value="' + api_user.labels.get(name="ci").id + '">ci</option>' in form
