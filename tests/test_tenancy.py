"""Every route with an id, walked from the URL conf: another account's object answers byte for
byte like a missing one, and a caller whose roles do not allow the operation gets 403. A route
added later is walked too, so it cannot skip either rule."""

import re

import pytest
from django.urls import URLPattern

from apiusers.models import Role, Tier
from apiusers.urls import router
from apiusers.views.api_users import ApiUserViewSet
from apiusers.views.base import AccountScopedViewSet
from apiusers.views.directory import RoleViewSet, TargetViewSet, TeamViewSet
from apiusers.views.labels import LabelViewSet
from apiusers.views.user_roles import ApiUserRoleViewSet

from .conftest import client_for
from .factories import (
    ApiUserFactory,
    LabelFactory,
    TargetFactory,
    TeamFactory,
    api_user_with_key,
    grant,
)

pytestmark = pytest.mark.django_db

MISSING = "Missing1d234"
FORBIDDEN = b'{"detail":"You do not have permission to perform this action."}'
GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def routes_with_ids() -> list[tuple[str, type, str, str]]:
    """(path template, viewset, HTTP method, action) for every route whose path holds an id."""
    found = []
    for pattern in router.urls:
        assert isinstance(pattern, URLPattern)
        regex = pattern.pattern.regex.pattern
        if not GROUP.search(regex) or "format" in regex:
            continue
        template = "/" + GROUP.sub(lambda match: "{" + match[1] + "}", regex).strip("^$")
        for method, action in pattern.callback.actions.items():
            found.append((template, pattern.callback.cls, method, action))
    return found


ROUTES = routes_with_ids()


def objects_of(account) -> dict[type, dict[str, str]]:
    """One object of each kind in `account`, as the path parameters of each viewset's routes."""
    api_user = ApiUserFactory(account=account)
    assignment = grant(api_user, "Developer", tier=Tier.TEAM, team=TeamFactory(account=account))
    return {
        ApiUserViewSet: {"pk": api_user.id},
        ApiUserRoleViewSet: {"api_user_id": api_user.id, "pk": assignment.id},
        LabelViewSet: {"pk": LabelFactory(account=account).id},
        TeamViewSet: {"pk": TeamFactory(account=account).id},
        TargetViewSet: {"pk": TargetFactory(account=account).id},
        RoleViewSet: {"pk": Role.objects.get(name="Developer").id},
    }


def send(client, method: str, path: str):
    return getattr(client, method)(path, {}) if method != "get" else client.get(path)


def test_every_route_with_an_id_is_walked():
    assert {(cls, method) for _, cls, method, _ in ROUTES} >= {
        (ApiUserViewSet, "patch"),
        (ApiUserRoleViewSet, "delete"),
        (LabelViewSet, "put"),
        (RoleViewSet, "get"),
    }
    assert len(ROUTES) >= 20


@pytest.mark.parametrize(
    ("template", "cls", "method", "action"),
    [route for route in ROUTES if route[1] is not RoleViewSet],
    ids=[f"{method} {template}" for template, cls, method, _ in ROUTES if cls is not RoleViewSet],
)
def test_another_accounts_object_answers_like_a_missing_one(
    admin_client, account, other_account, template, cls, method, action
):
    ours, theirs = objects_of(account)[cls], objects_of(other_account)[cls]
    # Each id in turn belongs to the other account, the others being the caller's own.
    for name in theirs.keys() & set(re.findall(r"{(\w+)}", template)):
        foreign = template.format(**{**ours, name: theirs[name]})
        missing = template.format(**{**ours, name: MISSING})

        answers = [send(admin_client, method, path) for path in (foreign, missing)]

        assert answers[0].status_code == answers[1].status_code == 404, (foreign, name)
        assert answers[0].content == answers[1].content == b'{"detail":"Not found."}'
    if method == "get":
        assert admin_client.get(template.format(**ours)).status_code == 200


@pytest.mark.parametrize(
    ("template", "cls", "method", "action"),
    ROUTES,
    ids=[f"{method} {template}" for template, cls, method, _ in ROUTES],
)
def test_a_developer_gets_403_on_every_route_with_an_id(account, template, cls, method, action):
    client = client_for(api_user_with_key(account, "Developer")[1])
    path = template.format(**objects_of(account)[cls])

    response = send(client, method, path)

    assert (response.status_code, response.content) == (403, FORBIDDEN)


@pytest.mark.parametrize("method", ["get_queryset", "get_object"])
def test_a_resource_cannot_replace_the_account_scoping(method):
    with pytest.raises(TypeError, match=f"may not override {method}: name a `selector`"):
        type("Unscoped", (AccountScopedViewSet,), {method: lambda self: None})


def test_every_viewset_of_the_router_is_account_scoped():
    assert all(issubclass(viewset, AccountScopedViewSet) for _, viewset, _ in router.registry)
