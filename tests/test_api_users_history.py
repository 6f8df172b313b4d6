"""GET /api-users/{id}/history/: every change, who, when, from what to what, newest first."""

import pytest

from .conftest import client_for, url
from .factories import api_user_with_key

pytestmark = pytest.mark.django_db


def history(client, user_or_id, **params):
    return client.get(f"{url(user_or_id)}history/", params)


def test_history_lists_each_change_newest_first(admin_client, admin):
    created = admin_client.post("/api-users/", {"name": "bot"}).json()
    admin_client.patch(url(created["id"]), {"name": "bot2", "active": False})
    admin_client.patch(url(created["id"]), {"name": "bot2"})  # no change: not recorded
    admin_client.patch(url(created["id"]), {"labels": [{"name": "ci", "color": ""}]})
    admin_client.post(f"{url(created['id'])}rotate-key/")

    response = history(admin_client, created["id"])

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["page"], body["page_total"], body["length"]) == (4, 1, 1, 10)
    actions = [entry["action"] for entry in body["results"]]
    assert actions == ["key_rotated", "updated", "updated", "created"]
    assert body["results"][1]["changes"] == {"labels": {"from": [], "to": ["ci"]}}
    assert body["results"][2]["changes"] == {
        "name": {"from": "bot", "to": "bot2"},
        "active": {"from": True, "to": False},
    }
    first = body["results"][3]
    assert list(first) == ["id", "at", "actor", "action", "changes"]
    assert first["actor"] == {"id": admin[0].id, "email": "", "name": "admin-bot"}
    assert first["at"].endswith("Z")


def test_history_is_paginated(admin_client, api_user):
    for index in range(12):
        admin_client.patch(url(api_user), {"name": f"name-{index}"})

    page = history(admin_client, api_user, page=2, length=5).json()

    assert (page["count"], page["page"], page["page_total"], page["length"]) == (12, 2, 3, 5)
    assert [entry["changes"]["name"]["to"] for entry in page["results"]] == [
        f"name-{index}" for index in (6, 5, 4, 3, 2)
    ]


def test_history_of_a_foreign_id_answers_like_a_missing_one(admin_client, foreign_api_user):
    foreign, missing = (
        history(admin_client, foreign_api_user),
        history(admin_client, "Missing1d234"),
    )

    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content


def test_history_is_readable_by_auditors_only_among_weaker_roles(account, api_user):
    assert (
        history(client_for(api_user_with_key(account, "Auditor")[1]), api_user).status_code == 200
    )
    assert (
        history(client_for(api_user_with_key(account, "Billing")[1]), api_user).status_code == 403
    )


@pytest.mark.usefixtures("keys_read_every_time")
def test_history_queries_do_not_grow_with_the_page_size(
    admin_client, api_user, django_assert_num_queries
):
    for index in range(30):
        admin_client.patch(url(api_user), {"name": f"name-{index}"})

    for length in (1, 30):
        with django_assert_num_queries(HISTORY_QUERIES):
            response = history(admin_client, api_user, length=length)

        assert len(response.json()["results"]) == length


# Authentication, the user, the count, the page of changes with their actors.
HISTORY_QUERIES = 4
