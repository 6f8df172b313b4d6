"""/roles/, /teams/ and /targets/: read-only lists of what a role assignment can name."""

import pytest
from rest_framework.test import APIClient

from apiusers.models import Role

from .conftest import client_for
from .factories import TargetFactory, TeamFactory, api_user_with_key

pytestmark = pytest.mark.django_db

FORBIDDEN = {"detail": "You do not have permission to perform this action."}
NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}
NOT_FOUND = b'{"detail":"Not found."}'
PATHS = ["/roles/", "/teams/", "/targets/"]

# Authentication, count, page.
LIST_QUERIES = 3
# Authentication, the object.
RETRIEVE_QUERIES = 2

ROLES = [
    {"id": "UdU7tPEHa1DU", "name": "Admin", "permissions": ["users.view", "users.manage"]},
    {"id": "xwUdiXQuAjX8", "name": "Auditor", "permissions": ["users.view"]},
    {"id": "mUsmGptS2NDy", "name": "Billing", "permissions": []},
    {"id": "mvHmA52RyzCE", "name": "Developer", "permissions": []},
    {
        "id": "xRDpnjuNSWJX",
        "name": "Owner",
        "permissions": ["users.view", "users.manage", "account.own"],
    },
    {"id": "7XvGPgcXE6XR", "name": "SecOps", "permissions": ["users.view"]},
]


def page_of(results: list, *, length: int = 10) -> dict:
    return {"count": len(results), "page_total": 1, "page": 1, "length": length, "results": results}


def team_json(team) -> dict:
    return {"id": team.id, "name": team.name}


def target_json(target) -> dict:
    return {"id": target.id, "name": target.name, "url": target.url}


@pytest.fixture
def directory(account, other_account):
    """Two teams and two targets in the caller's account, one of each in another account."""
    return {
        "teams": [
            TeamFactory(account=account, name="Security"),
            TeamFactory(account=account, name="Platform"),
        ],
        "targets": [
            TargetFactory(account=account, name="Shop", url="https://shop.example.com/"),
            TargetFactory(account=account, name="Blog", url="https://www.example.com/blog/"),
        ],
        "foreign_team": TeamFactory(account=other_account, name="Theirs"),
        "foreign_target": TargetFactory(account=other_account, name="Theirs"),
    }


def test_roles_lists_the_six_built_in_roles_by_name(admin_client):
    response = admin_client.get("/roles/")

    assert response.status_code == 200
    assert response.json() == page_of(ROLES)


def test_a_role_is_retrieved_by_id(admin_client):
    response = admin_client.get("/roles/xwUdiXQuAjX8/")

    assert response.status_code == 200
    assert response.json() == ROLES[1]


def test_an_unknown_role_is_404(admin_client):
    response = admin_client.get("/roles/Missing1d234/")

    assert response.status_code == 404
    assert response.content == NOT_FOUND


def test_roles_search_and_ordering(admin_client):
    found = admin_client.get("/roles/", {"search": "O", "ordering": "-name"}).json()

    assert [role["name"] for role in found["results"]] == [
        "SecOps",
        "Owner",
        "Developer",
        "Auditor",
    ]


def test_teams_lists_the_account_teams_by_name(admin_client, directory):
    response = admin_client.get("/teams/")

    assert response.status_code == 200
    assert response.json() == page_of([team_json(team) for team in reversed(directory["teams"])])


def test_targets_lists_the_account_targets_by_name(admin_client, directory):
    response = admin_client.get("/targets/")

    assert response.status_code == 200
    expected = [target_json(target) for target in reversed(directory["targets"])]
    assert response.json() == page_of(expected)


def test_targets_order_by_url_and_search_by_name(admin_client, directory):
    by_url = admin_client.get("/targets/", {"ordering": "-url"}).json()["results"]
    searched = admin_client.get("/targets/", {"search": "sho"}).json()["results"]

    assert [target["name"] for target in by_url] == ["Blog", "Shop"]
    assert searched == [target_json(directory["targets"][0])]


def test_a_search_that_matches_nothing_is_an_empty_page(admin_client, directory):
    response = admin_client.get("/teams/", {"search": "nothing like it"})

    assert response.json() == page_of([])


def test_team_and_target_are_retrieved_by_id(admin_client, directory):
    team, target = directory["teams"][0], directory["targets"][0]

    assert admin_client.get(f"/teams/{team.id}/").json() == team_json(team)
    assert admin_client.get(f"/targets/{target.id}/").json() == target_json(target)


@pytest.mark.parametrize(
    ("path", "foreign"), [("/teams/", "foreign_team"), ("/targets/", "foreign_target")]
)
def test_a_foreign_team_or_target_answers_exactly_like_a_missing_one(
    admin_client, directory, path, foreign
):
    same = {"HTTP_X_REQUEST_ID": "same-request-id"}
    theirs = admin_client.get(f"{path}{directory[foreign].id}/", **same)
    missing = admin_client.get(f"{path}Missing1d234/", **same)

    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content == NOT_FOUND
    assert theirs.headers == missing.headers


@pytest.mark.parametrize("path", PATHS)
def test_the_directory_is_read_only(admin_client, path):
    response = admin_client.post(path, {"name": "new"})

    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "POST" not allowed.'}


@pytest.mark.parametrize("path", PATHS)
def test_without_a_key_the_directory_is_401(db, path):
    response = APIClient().get(path)

    assert response.status_code == 401
    assert response.json() == NOT_PROVIDED


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("role", "status"), [("Auditor", 200), ("SecOps", 200), ("Developer", 403), ("Billing", 403)]
)
def test_reading_the_directory_needs_users_view(account, path, role, status):
    response = client_for(api_user_with_key(account, role)[1]).get(path)

    assert response.status_code == status
    if status == 403:
        assert response.json() == FORBIDDEN


def test_a_developer_gets_403_for_an_existing_and_a_missing_id_alike(account, directory):
    client = client_for(api_user_with_key(account, "Developer")[1])

    answers = {
        client.get(f"/teams/{team_id}/").content
        for team_id in (directory["teams"][0].id, directory["foreign_team"].id, "Missing1d234")
    }
    assert answers == {b'{"detail":"You do not have permission to perform this action."}'}


@pytest.mark.parametrize("length", [1, 100])
@pytest.mark.parametrize("path", PATHS)
def test_list_queries_do_not_grow_with_the_page(
    admin_client, account, path, length, django_assert_num_queries
):
    TeamFactory.create_batch(30, account=account)
    TargetFactory.create_batch(30, account=account)

    with django_assert_num_queries(LIST_QUERIES):
        response = admin_client.get(path, {"length": length})

    assert response.status_code == 200
    assert len(response.json()["results"]) == min(length, response.json()["count"])


@pytest.mark.parametrize("path", PATHS)
def test_retrieve_queries(admin_client, account, path, django_assert_num_queries):
    objects = {
        "/roles/": Role.objects.first(),
        "/teams/": TeamFactory(account=account),
        "/targets/": TargetFactory(account=account),
    }

    with django_assert_num_queries(RETRIEVE_QUERIES):
        response = admin_client.get(f"{path}{objects[path].id}/")

    assert response.status_code == 200


# Limits: the same bounds on every list -----------------------------------------------------

LISTS = [*PATHS, "/labels/users/"]


def refused(client, path, query, parameter, message):
    response = client.get(path, query)

    assert response.status_code == 400
    assert response.json() == {parameter: [message]}


@pytest.mark.parametrize("path", LISTS)
def test_a_search_of_five_terms_is_answered_and_six_are_a_400(admin_client, path):
    five = " ".join(f"term{n}" for n in range(5))

    assert admin_client.get(path, {"search": five}).json() == page_of([])
    refused(admin_client, path, {"search": f"{five} term5"}, "search", "At most 5 search terms.")


@pytest.mark.parametrize("path", LISTS)
def test_a_repeated_search_term_counts_once(admin_client, path):
    query = {"search": " ".join(["nothing"] * 20)}

    assert admin_client.get(path, query).json() == page_of([])


@pytest.mark.parametrize("path", LISTS)
def test_a_search_of_255_characters_is_answered_and_256_are_a_400(admin_client, path):
    assert admin_client.get(path, {"search": "a" * 255}).json() == page_of([])
    refused(
        admin_client,
        path,
        {"search": "a" * 256},
        "search",
        "Ensure this field has no more than 255 characters.",
    )


@pytest.mark.parametrize("path", LISTS)
def test_ten_ordering_terms_are_answered_and_eleven_are_a_400(admin_client, path):
    ten = ",".join(["-name", "name"] + [f"x{n}" for n in range(8)])

    assert (
        admin_client.get(path, {"ordering": ten}).json()
        == admin_client.get(path, {"ordering": "-name"}).json()
    )
    refused(
        admin_client, path, {"ordering": f"{ten},x9"}, "ordering", "At most 10 ordering fields."
    )


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("parameter", ["search", "ordering", "page", "length"])
def test_a_parameter_sent_empty_is_not_used(admin_client, directory, path, parameter):
    response = admin_client.get(path, {parameter: ""})

    assert response.status_code == 200
    assert response.json() == admin_client.get(path).json()


@pytest.mark.parametrize("length", ["null", "1.5", "0x10", "true"])
def test_a_length_that_is_not_a_positive_integer_means_the_default(admin_client, length):
    assert admin_client.get("/roles/", {"length": length}).json() == page_of(ROLES)
