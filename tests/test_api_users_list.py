"""GET /api-users/: the page envelope, filters, search, ordering and `exclude`, through HTTP."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apiusers.filters.api_users import ApiUserFilterSet
from apiusers.models import Role, Tier, User

from .conftest import REPRESENTATION_QUERIES, client_for, url
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

LIST = "/api-users/"
# Authentication, the count, the page of users; then their representations.
LIST_QUERIES = 3 + REPRESENTATION_QUERIES
# The same, and one query per id filter to check its ids (label, role, team and target here).
LIST_WITH_ID_FILTERS_QUERIES = LIST_QUERIES + 4
# Authentication: a request refused for its query string reads nothing else.
REFUSED_QUERIES = 1
EVERYONE = ["admin-bot", "alpha", "bravo", "charlie", "delta"]
ID_PARAMETERS = ["label", "role", "team", "target", "exclude_team", "exclude_target"]
EXCLUDABLE = "name, changed_by, changed, active, labels, user_roles, is_apiuser, key"


@pytest.fixture
def world(account, admin):
    """The caller (admin-bot, Admin at the account tier) and four API users:

    alpha: labels ci and prod, Developer at the account tier
    bravo: label ci, Auditor on team platform, inactive
    charlie: label prod, Developer on target shop
    delta: no labels, no roles
    """
    caller = admin[0]
    ci = LabelFactory(account=account, name="ci", changed_by=caller)
    prod = LabelFactory(account=account, name="prod", changed_by=caller)
    team = TeamFactory(account=account, name="platform")
    target = TargetFactory(account=account, name="shop")
    alpha = ApiUserFactory(account=account, name="alpha")
    alpha.labels.set([ci, prod])
    grant(alpha, "Developer")
    bravo = ApiUserFactory(account=account, name="bravo", active=False)
    bravo.labels.set([ci])
    grant(bravo, "Auditor", tier=Tier.TEAM, team=team)
    charlie = ApiUserFactory(account=account, name="charlie")
    charlie.labels.set([prod])
    grant(charlie, "Developer", tier=Tier.TARGET, target=target)
    delta = ApiUserFactory(account=account, name="delta")
    return SimpleNamespace(
        ci=ci,
        prod=prod,
        team=team,
        target=target,
        alpha=alpha,
        bravo=bravo,
        charlie=charlie,
        delta=delta,
    )


@pytest.fixture
def foreign(other_account):
    """Another account's API user, with a label, a team and a target of that account."""
    user = ApiUserFactory(account=other_account, name="alpha-foreign")
    label = LabelFactory(account=other_account, name="ci", changed_by=user)
    user.labels.set([label])
    team = TeamFactory(account=other_account, name="platform")
    target = TargetFactory(account=other_account, name="shop")
    grant(user, "Developer", tier=Tier.TEAM, team=team)
    grant(user, "Developer", tier=Tier.TARGET, target=target)
    return SimpleNamespace(user=user, label=label, team=team, target=target)


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [result["name"] for result in response.json()["results"]]


def role_id(name: str) -> str:
    return Role.objects.get(name=name).id


def invalid_choice(value: str) -> list[str]:
    return [f"Select a valid choice. {value} is not one of the available choices."]


# The page and its results ------------------------------------------------------------------


def test_list_answers_the_envelope_with_each_user_as_a_get_shows_it(admin_client, admin, world):
    response = admin_client.get(LIST)

    assert response.status_code == 200
    users = [admin[0], world.alpha, world.bravo, world.charlie, world.delta]
    assert response.json() == {
        "count": 5,
        "page_total": 1,
        "page": 1,
        "length": 10,
        "results": [admin_client.get(url(user)).json() for user in users],
    }


def test_human_users_deleted_users_and_other_accounts_never_appear(
    admin_client, account, world, foreign
):
    UserFactory(account=account, name="a-human")
    ApiUserFactory(account=account, name="a-deleted-bot", deleted=timezone.now())

    response = admin_client.get(LIST, {"length": 100})

    assert names(response) == EVERYONE
    assert response.json()["count"] == 5


def test_an_account_without_other_api_users_lists_the_caller_alone(admin_client):
    assert names(admin_client.get(LIST)) == ["admin-bot"]


# Filters -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", ["admin-bot", "alpha", "charlie", "delta"]),
        ("false", ["bravo"]),
        ("True", ["admin-bot", "alpha", "charlie", "delta"]),
        ("FALSE", ["bravo"]),
        ("", EVERYONE),
    ],
)
def test_active_filter(admin_client, world, value, expected):
    assert names(admin_client.get(LIST, {"active": value})) == expected


def test_one_label(admin_client, world):
    assert names(admin_client.get(LIST, {"label": world.ci.id})) == ["alpha", "bravo"]


@pytest.mark.parametrize("operator", [None, "or"])
def test_several_labels_with_or_match_any_of_them(admin_client, world, operator):
    query = {"label": [world.ci.id, world.prod.id]}
    if operator:
        query["label_logical_operator"] = operator

    response = admin_client.get(LIST, query)

    assert names(response) == ["alpha", "bravo", "charlie"]
    assert response.json()["count"] == 3


def test_several_labels_with_and_match_all_of_them(admin_client, world):
    query = {"label": [world.ci.id, world.prod.id], "label_logical_operator": "and"}

    assert names(admin_client.get(LIST, query)) == ["alpha"]


def test_a_label_repeated_with_and_counts_once(admin_client, world):
    query = {"label": [world.ci.id, world.ci.id], "label_logical_operator": "and"}

    assert names(admin_client.get(LIST, query)) == ["alpha", "bravo"]


def test_label_logical_operator_alone_filters_nothing(admin_client, world):
    assert names(admin_client.get(LIST, {"label_logical_operator": "and"})) == EVERYONE


def test_label_and_active_combine(admin_client, world):
    query = {"label": world.ci.id, "active": "false"}

    assert names(admin_client.get(LIST, query)) == ["bravo"]


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (["Developer"], ["alpha", "charlie"]),
        (["Auditor"], ["bravo"]),
        (["Admin", "Auditor"], ["admin-bot", "bravo"]),
        (["Owner"], []),
    ],
)
def test_role_matches_any_of_the_roles_in_any_scope(admin_client, world, roles, expected):
    query = {"role": [role_id(name) for name in roles]}

    assert names(admin_client.get(LIST, query)) == expected


def test_team_and_target(admin_client, account, world):
    other_team = TeamFactory(account=account)
    grant(world.delta, "Developer", tier=Tier.TEAM, team=other_team)

    assert names(admin_client.get(LIST, {"team": world.team.id})) == ["bravo"]
    assert names(admin_client.get(LIST, {"team": [world.team.id, other_team.id]})) == [
        "bravo",
        "delta",
    ]
    assert names(admin_client.get(LIST, {"target": world.target.id})) == ["charlie"]


def test_exclude_team_and_exclude_target(admin_client, world):
    assert names(admin_client.get(LIST, {"exclude_team": world.team.id})) == [
        "admin-bot",
        "alpha",
        "charlie",
        "delta",
    ]
    assert names(admin_client.get(LIST, {"exclude_target": world.target.id})) == [
        "admin-bot",
        "alpha",
        "bravo",
        "delta",
    ]


def test_team_and_exclude_target_combine(admin_client, world):
    grant(world.delta, "Auditor", tier=Tier.TEAM, team=world.team)
    grant(world.delta, "Auditor", tier=Tier.TARGET, target=world.target)

    query = {"team": world.team.id, "exclude_target": world.target.id}

    assert names(admin_client.get(LIST, query)) == ["bravo"]


def test_role_and_search_combine(admin_client, world):
    query = {"role": role_id("Developer"), "search": "char"}

    assert names(admin_client.get(LIST, query)) == ["charlie"]


@pytest.mark.parametrize(
    ("narrow", "role", "expected"),
    [
        ("label", "Developer", ["alpha", "charlie"]),
        ("team", "Auditor", ["bravo"]),
        ("target", "Developer", ["charlie"]),
        ("target", "Auditor", []),
    ],
)
def test_role_combines_with_a_label_a_team_or_a_target(admin_client, world, narrow, role, expected):
    ids = {"label": world.prod.id, "team": world.team.id, "target": world.target.id}
    query = {"role": role_id(role), narrow: ids[narrow]}

    response = admin_client.get(LIST, query)

    assert names(response) == expected
    assert response.json()["count"] == len(expected)


def test_role_combines_with_a_label_a_search_and_an_exclusion(admin_client, world):
    query = {
        "role": role_id("Developer"),
        "label": world.prod.id,
        "search": "a",
        "exclude_target": world.target.id,
        "active": "true",
        "ordering": "-changed",
    }

    response = admin_client.get(LIST, query)

    assert names(response) == ["alpha"]
    assert response.json()["count"] == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"account": "true"}, ["admin-bot", "alpha"]),
        ({"account": "false"}, ["bravo", "charlie", "delta"]),
        ({"no_access": "true"}, ["delta"]),
        ({"no_access": "false"}, ["admin-bot", "alpha", "bravo", "charlie"]),
        ({"no_access": "true", "account": "false"}, ["delta"]),
        ({"no_access": "false", "account": "false"}, ["bravo", "charlie"]),
        ({"no_access": "true", "account": "true"}, []),
    ],
)
def test_account_and_no_access(admin_client, world, query, expected):
    assert names(admin_client.get(LIST, query)) == expected


@pytest.mark.parametrize(("value", "expected"), [("true", []), ("false", EVERYONE)])
def test_api_users_never_have_mfa(admin_client, world, value, expected):
    response = admin_client.get(LIST, {"mfa_enabled": value})

    assert names(response) == expected
    assert response.json()["count"] == len(expected)


def test_every_filter_at_once(admin_client, world):
    query = {
        "active": "true",
        "label": [world.ci.id, world.prod.id],
        "label_logical_operator": "and",
        "role": role_id("Developer"),
        "exclude_team": world.team.id,
        "exclude_target": world.target.id,
        "account": "true",
        "no_access": "false",
        "mfa_enabled": "false",
        "search": "alp",
    }

    assert names(admin_client.get(LIST, query)) == ["alpha"]


def test_filters_do_not_apply_to_one_api_user_read_by_id(admin_client, world, foreign):
    query = {"active": "true", "mfa_enabled": "true", "label": foreign.label.id}

    response = admin_client.get(url(world.bravo), query)

    assert response.status_code == 200
    assert response.json()["name"] == "bravo"


# Refused filters ---------------------------------------------------------------------------


@pytest.mark.parametrize("parameter", ["active", "account", "no_access", "mfa_enabled"])
@pytest.mark.parametrize("value", ["maybe", "1", "yes", "on"])
def test_a_boolean_that_is_not_true_or_false_is_a_400(admin_client, world, parameter, value):
    response = admin_client.get(LIST, {parameter: value})

    assert response.status_code == 400
    assert response.json() == {parameter: ["Must be a valid boolean: true or false."]}


def test_an_unknown_label_logical_operator_is_a_400(admin_client, world):
    response = admin_client.get(LIST, {"label": world.ci.id, "label_logical_operator": "xor"})

    assert response.status_code == 400
    assert response.json() == {"label_logical_operator": invalid_choice("xor")}


@pytest.mark.parametrize("parameter", ["label", "team", "target", "exclude_team", "exclude_target"])
def test_an_id_of_another_account_is_refused_like_a_missing_one(
    admin_client, world, foreign, parameter
):
    theirs = {
        "label": foreign.label,
        "team": foreign.team,
        "target": foreign.target,
        "exclude_team": foreign.team,
        "exclude_target": foreign.target,
    }[parameter].id
    missing = "Missing1d234"

    refused_foreign = admin_client.get(LIST, {parameter: theirs})
    refused_missing = admin_client.get(LIST, {parameter: missing})

    assert refused_foreign.status_code == refused_missing.status_code == 400
    assert refused_foreign.json() == {parameter: invalid_choice(theirs)}
    assert refused_missing.json() == {parameter: invalid_choice(missing)}
    assert refused_foreign.content.replace(theirs.encode(), missing.encode()) == (
        refused_missing.content
    )


def test_one_bad_id_among_good_ones_is_a_400(admin_client, world, foreign):
    response = admin_client.get(LIST, {"label": [world.ci.id, foreign.label.id]})

    assert response.status_code == 400
    assert response.json() == {"label": invalid_choice(foreign.label.id)}


@pytest.mark.parametrize("parameter", ID_PARAMETERS)
@pytest.mark.parametrize("value", ["not-an-id", "0OIl0OIl0OIl", "a" * 10_000, " " + "a" * 11])
def test_a_malformed_id_is_refused_like_a_missing_one_without_a_query(
    admin_client, world, parameter, value, django_assert_num_queries
):
    with django_assert_num_queries(REFUSED_QUERIES):
        response = admin_client.get(LIST, {parameter: value})

    assert response.status_code == 400
    assert response.json() == {parameter: invalid_choice(value)}


def test_a_nul_character_in_an_id_is_a_400(admin_client, world):
    response = admin_client.get(LIST, {"team": "abc\x00def"})

    assert response.status_code == 400
    assert response.json() == {"team": ["Null characters are not allowed."]}


def test_every_refused_filter_is_reported_at_once(admin_client, world):
    response = admin_client.get(LIST, {"active": "maybe", "label_logical_operator": "xor"})

    assert response.status_code == 400
    assert response.json() == {
        "active": ["Must be a valid boolean: true or false."],
        "label_logical_operator": invalid_choice("xor"),
    }


# Search ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("alpha", ["alpha"]),
        ("ALP", ["alpha"]),
        ("ci", ["alpha", "bravo"]),
        ("prod", ["alpha", "charlie"]),
        ("a", EVERYONE),
        ("ci alpha", ["alpha"]),
        ("ci prod", ["alpha"]),
        ("nothing", []),
        ("", EVERYONE),
        ("100%", []),
    ],
)
def test_search_matches_every_term_in_the_name_or_a_label_name(admin_client, world, term, expected):
    assert names(admin_client.get(LIST, {"search": term})) == expected


def test_search_lists_a_user_once_however_many_labels_match(admin_client, account, admin, world):
    more = [LabelFactory(account=account, name=f"ci-{n}", changed_by=admin[0]) for n in range(3)]
    world.alpha.labels.add(*more)

    response = admin_client.get(LIST, {"search": "ci"})

    assert names(response) == ["alpha", "bravo"]
    assert response.json()["count"] == 2


def test_search_does_not_see_labels_of_another_account(admin_client, world, foreign):
    foreign.label.name = "secret"
    foreign.label.save()

    assert names(admin_client.get(LIST, {"search": "secret"})) == []


@pytest.mark.parametrize(
    ("term", "error"),
    [
        ("a\x00b", "Null characters are not allowed."),
        ("a" * 256, "Ensure this field has no more than 255 characters."),
    ],
)
def test_a_search_term_that_could_never_match_is_a_400(admin_client, world, term, error):
    response = admin_client.get(LIST, {"search": term})

    assert response.status_code == 400
    assert response.json() == {"search": [error]}


# Ordering ----------------------------------------------------------------------------------


@pytest.fixture
def changed_in_order(world):
    """`changed` increases delta, alpha, charlie, bravo; the caller is the oldest."""
    start = timezone.now() - timedelta(days=1)
    for minutes, user in enumerate([world.delta, world.alpha, world.charlie, world.bravo], 1):
        User.objects.filter(pk=user.pk).update(changed=start + timedelta(minutes=minutes))
    admin_user = User.objects.get(name="admin-bot")
    User.objects.filter(pk=admin_user.pk).update(changed=start)


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("name", EVERYONE),
        ("-name", EVERYONE[::-1]),
        ("changed", ["admin-bot", "delta", "alpha", "charlie", "bravo"]),
        ("-changed", ["bravo", "charlie", "alpha", "delta", "admin-bot"]),
        (" -changed ", ["bravo", "charlie", "alpha", "delta", "admin-bot"]),
    ],
)
def test_ordering(admin_client, changed_in_order, ordering, expected):
    assert names(admin_client.get(LIST, {"ordering": ordering})) == expected


def test_ordering_by_id(admin_client, admin, world):
    users = [admin[0], world.alpha, world.bravo, world.charlie, world.delta]

    response = admin_client.get(LIST, {"ordering": "-id"})

    assert [r["id"] for r in response.json()["results"]] == sorted(
        (user.id for user in users), reverse=True
    )


@pytest.mark.parametrize(
    "ordering", ["password", "-key", "api_keys__digest", "labels__name", "", "name;drop", ","]
)
def test_unknown_ordering_fields_are_ignored(admin_client, world, ordering):
    assert names(admin_client.get(LIST, {"ordering": ordering})) == EVERYONE


def test_ordering_by_several_fields_ignores_the_unknown_ones(admin_client, changed_in_order, world):
    User.objects.filter(pk=world.alpha.pk).update(name="delta")

    response = admin_client.get(LIST, {"ordering": "-name,password,-changed"})

    results = [(r["name"], r["id"]) for r in response.json()["results"]]
    assert results[:2] == [("delta", world.alpha.id), ("delta", world.delta.id)]


@pytest.mark.parametrize("ordering", ["name", "-changed"])
def test_equal_keys_are_ordered_by_id_so_pages_do_not_overlap(admin_client, account, ordering):
    twins = ApiUserFactory.create_batch(7, account=account, name="twin", changed=timezone.now())

    pages = [
        admin_client.get(LIST, {"ordering": ordering, "length": 3, "page": page}).json()
        for page in (1, 2, 3)
    ]

    listed = [result["id"] for page in pages for result in page["results"]]
    assert len(listed) == len(set(listed)) == 8
    assert [user_id for user_id in listed if user_id in {t.id for t in twins}] == sorted(
        twin.id for twin in twins
    )


# Exclude -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"exclude": ["labels", "user_roles"]},
        {"exclude": "labels,user_roles"},
        {"exclude": ["labels, user_roles", ""]},
    ],
)
def test_exclude_leaves_fields_out_of_every_result(admin_client, world, query):
    response = admin_client.get(LIST, {**query, "length": 2})

    assert response.status_code == 200
    assert [list(result) for result in response.json()["results"]] == [
        ["id", "name", "changed_by", "changed", "active", "is_apiuser", "key"]
    ] * 2


def test_everything_but_the_id_can_be_excluded(admin_client, admin, world):
    response = admin_client.get(LIST, {"exclude": EXCLUDABLE.replace(" ", ""), "length": 2})

    assert response.json()["results"] == [{"id": admin[0].id}, {"id": world.alpha.id}]


@pytest.mark.parametrize("name", ["id", "password", "Labels", "labels.id"])
def test_excluding_the_id_or_an_unknown_field_is_a_400_naming_the_allowed_ones(
    admin_client, world, name
):
    response = admin_client.get(LIST, {"exclude": f"labels,{name}"})

    assert response.status_code == 400
    assert response.json() == {
        "exclude": [f'"{name}" cannot be excluded. Fields that can be: {EXCLUDABLE}.']
    }


def test_exclude_does_not_apply_to_one_api_user_read_by_id(admin_client, world):
    response = admin_client.get(url(world.alpha), {"exclude": "labels"})

    assert "labels" in response.json()


@pytest.mark.parametrize(
    ("query", "excluded"),
    [
        ({"exclude": "key,key"}, ["key"]),
        ({"exclude": ["key", "key"]}, ["key"]),
        ({"exclude": ["key, labels", "labels,key", "key"]}, ["key", "labels"]),
    ],
)
def test_a_field_excluded_twice_is_left_out_once(admin_client, admin, world, query, excluded):
    response = admin_client.get(LIST, {**query, "length": 1})

    assert response.status_code == 200
    shown = admin_client.get(url(admin[0])).json()
    assert response.json()["results"] == [
        {name: value for name, value in shown.items() if name not in excluded}
    ]


# Pagination --------------------------------------------------------------------------------


@pytest.fixture
def many(account):
    """Enough API users (with the caller, 120) for several pages at every page size."""
    ApiUserFactory.create_batch(119, account=account)


def test_pages_hold_ten_users_by_default(admin_client, many):
    body = admin_client.get(LIST).json()

    assert (body["count"], body["page_total"], body["page"], body["length"]) == (120, 12, 1, 10)
    assert len(body["results"]) == 10


def test_length_sets_the_page_size_and_page_moves_through_them(admin_client, many):
    first = admin_client.get(LIST, {"length": 50}).json()
    last = admin_client.get(LIST, {"length": 50, "page": 3}).json()

    assert (last["count"], last["page_total"], last["page"], last["length"]) == (120, 3, 3, 50)
    assert len(first["results"]) == 50
    assert len(last["results"]) == 20


@pytest.mark.parametrize("length", ["101", "1000", str(10**30)])
def test_length_is_capped_at_100(admin_client, many, length):
    body = admin_client.get(LIST, {"length": length}).json()

    assert body["length"] == 100
    assert len(body["results"]) == 100


@pytest.mark.parametrize("length", ["0", "-1", "abc", ""])
def test_a_length_that_is_not_a_positive_integer_means_the_default(admin_client, many, length):
    body = admin_client.get(LIST, {"length": length}).json()

    assert body["length"] == 10
    assert len(body["results"]) == 10


@pytest.mark.parametrize("page", ["13", "0", "-1", "abc", "99999"])
def test_a_page_past_the_last_or_not_a_page_number_is_a_404(admin_client, many, page):
    response = admin_client.get(LIST, {"page": page})

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


def test_filters_and_pagination_count_the_filtered_users(admin_client, account, many, world):
    response = admin_client.get(LIST, {"label": world.ci.id, "length": 1, "page": 2})

    assert names(response) == ["bravo"]
    body = response.json()
    assert (body["count"], body["page_total"], body["page"]) == (2, 2, 2)


# Limits: what a request may ask for is bounded -------------------------------------------


@pytest.fixture
def refused(admin_client, django_assert_num_queries):
    """Asserts the list refuses `query` with `message` on `parameter`, reading nothing but the
    caller."""

    def refused(query, parameter, message):
        with django_assert_num_queries(REFUSED_QUERIES):
            response = admin_client.get(LIST, query)
        assert response.status_code == 400
        assert response.json() == {parameter: [message]}

    return refused


def terms(count: int) -> str:
    return " ".join(f"term{n}" for n in range(count))


def test_a_search_of_five_terms_is_answered(admin_client, world):
    world.alpha.labels.create(name=terms(5), account=world.alpha.account, changed_by=world.alpha)

    assert names(admin_client.get(LIST, {"search": terms(5)})) == ["alpha"]


def test_a_search_of_six_terms_is_a_400(refused, world):
    refused({"search": terms(6)}, "search", "At most 5 search terms.")


def test_a_repeated_search_term_counts_once(admin_client, world):
    query = {"search": f"{terms(5)} term0 term4 term0"}

    assert names(admin_client.get(LIST, query)) == []


def test_a_search_of_127_terms_is_refused_before_any_list_query(refused, world):
    different = " ".join(chr(0x4E00 + n) for n in range(127))

    refused({"search": different}, "search", "At most 5 search terms.")


def test_a_search_of_one_term_127_times_is_one_term(admin_client, world, django_assert_num_queries):
    query = {"search": " ".join(["a"] * 127)}

    with django_assert_num_queries(LIST_QUERIES):
        response = admin_client.get(LIST, query)

    assert names(response) == EVERYONE


def test_a_search_of_255_characters_is_answered(admin_client, world):
    assert names(admin_client.get(LIST, {"search": "a" * 255})) == []


@pytest.mark.usefixtures("keys_read_every_time")
def test_search_costs_the_same_queries_with_one_term_and_with_five(
    admin_client, world, django_assert_num_queries
):
    with django_assert_num_queries(LIST_QUERIES):
        response = admin_client.get(LIST, {"search": "a"})
    assert response.status_code == 200, response.content

    with django_assert_num_queries(LIST_QUERIES):
        response = admin_client.get(LIST, {"search": "a l p h alp"})
    assert names(response) == ["alpha"]


@pytest.mark.usefixtures("keys_read_every_time")
def test_a_search_term_adds_a_condition_but_no_join(admin_client, world):
    def joins(search: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(LIST, {"search": search}).status_code == 200
        return sum(query["sql"].count(" JOIN ") for query in queries)

    assert joins("a l p h alp") == joins("a")


@pytest.fixture
def a_hundred(account, admin, world):
    """100 labels, teams and targets of the account; alpha has the last of each, with a role
    scoped to the team and one to the target."""
    labels = LabelFactory.create_batch(100, account=account, changed_by=admin[0])
    teams = TeamFactory.create_batch(100, account=account)
    targets = TargetFactory.create_batch(100, account=account)
    world.alpha.labels.add(labels[-1])
    grant(world.alpha, "Auditor", tier=Tier.TEAM, team=teams[-1])
    grant(world.alpha, "Auditor", tier=Tier.TARGET, target=targets[-1])
    ids = {
        "label": [label.id for label in labels],
        "team": [team.id for team in teams],
        "target": [target.id for target in targets],
    }
    return {**ids, "exclude_team": ids["team"], "exclude_target": ids["target"]}


@pytest.mark.parametrize(
    ("parameter", "expected"),
    [
        ("label", ["alpha"]),
        ("team", ["alpha"]),
        ("target", ["alpha"]),
        ("exclude_team", ["admin-bot", "bravo", "charlie", "delta"]),
        ("exclude_target", ["admin-bot", "bravo", "charlie", "delta"]),
    ],
)
def test_a_hundred_ids_are_answered(admin_client, a_hundred, parameter, expected):
    assert names(admin_client.get(LIST, {parameter: a_hundred[parameter]})) == expected


@pytest.mark.parametrize("parameter", ID_PARAMETERS)
def test_a_hundred_and_one_ids_are_a_400(refused, world, parameter):
    ids = [f"{n:03d}".replace("0", "z") + "abcdefghi" for n in range(101)]

    refused({parameter: ids}, parameter, "At most 100 values.")


def test_a_repeated_id_counts_once(admin_client, a_hundred):
    query = {"team": a_hundred["team"] + a_hundred["team"][:50]}

    assert names(admin_client.get(LIST, query)) == ["alpha"]


def test_every_field_excluded_many_times_is_answered(admin_client, admin, world):
    query = {"exclude": [EXCLUDABLE.replace(" ", "")] * 50, "length": 1}

    assert admin_client.get(LIST, query).json()["results"] == [{"id": admin[0].id}]


def test_excluding_more_than_a_hundred_names_is_a_400(refused, world):
    names_sent = ",".join(f"field{n}" for n in range(101))

    refused({"exclude": names_sent}, "exclude", "At most 100 values.")


def test_ten_ordering_terms_are_answered_and_a_field_named_again_is_ignored(
    admin_client, changed_in_order
):
    ordering = "-changed,name,-name,changed,id,password,a,b,c,-changed"

    response = admin_client.get(LIST, {"ordering": ordering})

    assert names(response) == ["bravo", "charlie", "alpha", "delta", "admin-bot"]


def test_eleven_ordering_terms_are_a_400(refused, world):
    ordering = ",".join(["name", "changed", "id"] + [f"x{n}" for n in range(8)])

    refused({"ordering": ordering}, "ordering", "At most 10 ordering fields.")


# Empty values: a parameter sent empty is a parameter not sent ------------------------------


@pytest.mark.parametrize(
    "parameter",
    [
        *ID_PARAMETERS,
        "active",
        "account",
        "no_access",
        "mfa_enabled",
        "label_logical_operator",
        "exclude",
        "search",
        "ordering",
        "page",
        "length",
    ],
)
def test_a_parameter_sent_empty_is_not_used(admin_client, world, parameter):
    response = admin_client.get(LIST, {parameter: ""})

    assert response.status_code == 200
    assert response.json() == admin_client.get(LIST).json()


@pytest.mark.parametrize("parameter", ID_PARAMETERS[:1] + ID_PARAMETERS[2:])
def test_an_empty_id_among_others_is_ignored(admin_client, world, parameter):
    value = {
        "label": world.ci.id,
        "team": world.team.id,
        "target": world.target.id,
        "exclude_team": world.team.id,
        "exclude_target": world.target.id,
    }[parameter]

    response = admin_client.get(LIST, {parameter: ["", value, ""]})

    assert response.json() == admin_client.get(LIST, {parameter: value}).json()


# Authentication and permissions ------------------------------------------------------------


def test_no_key_is_a_401(world):
    response = APIClient().get(LIST)

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response.headers["WWW-Authenticate"] == "JWT"


@pytest.mark.parametrize("role", ["Developer", "Billing", None])
def test_a_role_without_users_view_is_a_403(account, world, role):
    client = client_for(api_user_with_key(account, role)[1])

    response = client.get(LIST, {"label": world.ci.id})

    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}


@pytest.mark.parametrize("role", ["Owner", "Auditor", "SecOps"])
def test_roles_with_users_view_may_list(account, world, role):
    client = client_for(api_user_with_key(account, role, name="reader")[1])

    assert names(client.get(LIST, {"search": "alpha"})) == ["alpha"]


def test_a_caller_of_the_other_account_sees_only_its_own_api_users(other_account, world, foreign):
    client = client_for(api_user_with_key(other_account, "Admin", name="their-admin")[1])

    assert names(client.get(LIST)) == ["alpha-foreign", "their-admin"]
    assert client.get(LIST, {"label": world.ci.id}).json() == {"label": invalid_choice(world.ci.id)}


# Query counts ------------------------------------------------------------------------------


def label_and_grant(user, labels, teams) -> None:
    user.labels.set(labels)
    for team in teams:
        grant(user, "Developer", tier=Tier.TEAM, team=team)


@pytest.mark.parametrize("n_users", [1, 50])
def test_list_queries_do_not_grow_with_the_page_size(
    admin_client, account, admin, n_users, django_assert_num_queries
):
    labels = LabelFactory.create_batch(3, account=account, changed_by=admin[0])
    teams = TeamFactory.create_batch(3, account=account)
    for user in ApiUserFactory.create_batch(n_users, account=account):
        label_and_grant(user, labels, teams)

    with django_assert_num_queries(LIST_QUERIES):
        response = admin_client.get(LIST, {"length": 100})

    assert response.status_code == 200, response.content


@pytest.mark.parametrize(("n_labels", "n_roles"), [(1, 1), (30, 1), (1, 20), (30, 20)])
def test_list_queries_do_not_grow_with_labels_or_roles(
    admin_client, account, admin, n_labels, n_roles, django_assert_num_queries
):
    labels = LabelFactory.create_batch(n_labels, account=account, changed_by=admin[0])
    teams = TeamFactory.create_batch(n_roles, account=account)
    for user in ApiUserFactory.create_batch(5, account=account):
        label_and_grant(user, labels, teams)

    with django_assert_num_queries(LIST_QUERIES):
        response = admin_client.get(LIST, {"search": "bot"})

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("n_users", [1, 50])
def test_filtered_list_queries_do_not_grow_with_the_page_size(
    admin_client, account, admin, n_users, django_assert_num_queries
):
    labels = LabelFactory.create_batch(3, account=account, changed_by=admin[0])
    teams = TeamFactory.create_batch(3, account=account)
    target = TargetFactory(account=account)
    for user in ApiUserFactory.create_batch(n_users, account=account):
        label_and_grant(user, labels, teams)
    query = {
        "length": 100,
        "label": [label.id for label in labels],
        "label_logical_operator": "and",
        "role": role_id("Developer"),
        "team": [team.id for team in teams],
        "exclude_target": target.id,
        "account": "false",
        "active": "true",
        "search": "bot",
        "ordering": "-changed",
        "exclude": "key",
    }

    with django_assert_num_queries(LIST_WITH_ID_FILTERS_QUERIES):
        response = admin_client.get(LIST, query)

    assert response.status_code == 200, response.content


def test_a_list_naming_no_filter_parameter_skips_the_filter_set(
    admin_client, api_user, monkeypatch
):
    built = []
    original = ApiUserFilterSet.__init__

    def init(self, *args, **kwargs):
        built.append(True)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ApiUserFilterSet, "__init__", init)

    assert admin_client.get("/api-users/?search=ci&ordering=name").status_code == 200
    assert built == []
    # Any of its parameters, even empty, goes through it (and its validation).
    assert admin_client.get("/api-users/?active=").status_code == 200
    assert admin_client.get("/api-users/?active=maybe").status_code == 400
    assert built == [True, True]
