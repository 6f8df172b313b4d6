"""Schemathesis hooks of the contract run (.ci/contract), loaded through SCHEMATHESIS_HOOKS.

Ids in request bodies and in the list's id filters are made real before each request, in every
phase: an id of the right shape that names nothing seeded becomes a seeded id of its kind (from
the dictionaries of .ci/schemathesis.toml), so that writes reach the services instead of being
refused with `Invalid pk "..." - object does not exist.`. An id of the wrong shape is left as it
is: the negative cases stay negative. Schemathesis validates the request again after this hook,
so a case is judged by what is sent.

What the schema cannot say is made true as well, since two ids that became the same one, or two
items the fuzzer made alike, would be refused: a list of ids holds each id once, a list of roles
each role once per holder and scope (each assignment once, where they are changed), and a list
of labels each name once. The assignments that bulk deletes take are not those that bulk updates
change.

A conditional write's `If-Match` names `*` (any existing version of the object): a tag the
fuzzer made up would get the documented 412 before the write is reached, for valid and invalid
bodies alike. The 412 itself is tested in tests/test_conditional.py.

Form bodies carry a list of objects (labels) as one value holding its JSON array, one of the two
ways the API documents: Schemathesis would send an urlencoded one as its keys
(`labels=name&labels=color`) and leave an empty one out of a multipart body.
"""

import json
import re
import tomllib
import zlib
from pathlib import Path

import schemathesis
from schemathesis.transport.requests import (
    REQUESTS_TRANSPORT,
    multipart_serializer,
    urlencoded_serializer,
)

CONFIG = Path(__file__).with_name("schemathesis.toml")
POOLS = {
    kind: dictionary["values"]
    for kind, dictionary in tomllib.loads(CONFIG.read_text())["dictionaries"].items()
}
ID = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{12}$")
BULK_DELETE = "/api-users/roles/bulk/delete/"
# Query parameters of GET /api-users/ that take ids, with the kind of each.
FILTERS = {
    "label": "labels",
    "role": "roles",
    "team": "teams",
    "exclude_team": "teams",
    "target": "targets",
    "exclude_target": "targets",
}


def seeded(value, kind: str):
    """A seeded id of `kind` for an id that is not one; anything else as it is."""
    pool = POOLS[kind]
    if not isinstance(value, str) or not ID.match(value) or value in pool:
        return value
    return pool[zlib.crc32(value.encode()) % len(pool)]


def seeded_list(values, kind: str):
    if not isinstance(values, list):
        return values
    return once([seeded(value, kind) for value in values], lambda value: value)


def once(items: list, key) -> list:
    """The items in their order, without those whose key an earlier one has."""
    kept, seen = [], set()
    for item in items:
        try:
            identity = key(item)
            hash(identity)
        except (AttributeError, KeyError, TypeError):
            identity = ("unique", len(kept))
        if identity not in seen:
            seen.add(identity)
            kept.append(item)
    return kept


def seed_object(container, name: str, kind: str) -> None:
    """`container[name]["id"]`, made a seeded id of `kind`."""
    if isinstance(container, dict) and isinstance(container.get(name), dict):
        reference = container[name]
        if "id" in reference:
            reference["id"] = seeded(reference["id"], kind)


def role_items(items, holder: str | None = None):
    """A list of roles in scopes, with real ids, each role once per holder and scope."""
    if not isinstance(items, list):
        return items
    for item in items:
        seed_object(item, "role", "roles")
        if isinstance(item, dict):
            seed_object(item.get("scope"), "team", "teams")
            seed_object(item.get("scope"), "target", "targets")
            if holder == "api_user" and "api_user" in item:
                item["api_user"] = seeded(item["api_user"], "api_users")
            if holder == "id" and "id" in item:
                item["id"] = seeded(item["id"], "user_roles")

    def key(item):
        if holder == "id":
            return item["id"]
        scope = item["scope"]
        return (
            holder and item[holder],
            item["role"]["id"],
            scope.get("tier"),
            (scope.get("team") or {}).get("id"),
            (scope.get("target") or {}).get("id"),
        )

    return once(items, key)


def real_body(path: str, body: dict) -> None:
    if "ids" in body:
        kind = "user_roles_dropped" if path == BULK_DELETE else "api_users"
        body["ids"] = seeded_list(body["ids"], kind)
    if "api_users" in body:
        body["api_users"] = seeded_list(body["api_users"], "api_users")
    if isinstance(body.get("labels"), list):
        body["labels"] = once(body["labels"], lambda label: label["name"])
    # A single assignment (its role and scope), then lists of them.
    seed_object(body, "role", "roles")
    seed_object(body.get("scope"), "team", "teams")
    seed_object(body.get("scope"), "target", "targets")
    if "user_roles" in body:
        holder = "id" if path == "/api-users/roles/bulk/update/" else None
        body["user_roles"] = role_items(body["user_roles"], holder)
    if "create" in body:
        body["create"] = role_items(body["create"], "api_user")
    if "update" in body:
        body["update"] = role_items(body["update"], "id")
    if "delete" in body:
        body["delete"] = seeded_list(body["delete"], "user_roles_dropped")


@schemathesis.hook
def before_call(context, case, kwargs):
    for headers in (case.headers, kwargs.get("headers")):
        if isinstance(headers, dict) and headers.get("If-Match"):
            headers["If-Match"] = "*"
    if isinstance(case.body, dict):
        real_body(case.operation.path, case.body)
    if case.operation.path == "/api-users/" and isinstance(case.query, dict):
        for name, kind in FILTERS.items():
            if name in case.query:
                value = case.query[name]
                case.query[name] = (
                    seeded_list(value, kind) if isinstance(value, list) else seeded(value, kind)
                )


def form_values(body):
    """A form body with each list of objects, and each empty list, as one JSON value."""
    if not isinstance(body, dict):
        return body
    return {
        name: json.dumps(value)
        if isinstance(value, list) and (not value or any(isinstance(item, dict) for item in value))
        else value
        for name, value in body.items()
    }


# On the transport itself: the public registry (`schemathesis.serializer`) takes bytes only,
# where a multipart body needs its boundary in the Content-Type header.
@REQUESTS_TRANSPORT.serializer("application/x-www-form-urlencoded")
def urlencoded(context, body):
    return urlencoded_serializer(context, form_values(body))


@REQUESTS_TRANSPORT.serializer("multipart/form-data")
def multipart(context, body):
    return multipart_serializer(context, form_values(body))
