"""The representation has one definition, ApiUserOutputSerializer: PostgreSQL's one-query path
renders byte for byte what the serializer renders, for any users Hypothesis makes up."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer

from apiusers import representation
from apiusers.models import ApiKey, Label, Role, Target, Team, Tier, User, UserRole
from apiusers.serializers.api_users import ApiUserOutputSerializer

from .factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_the_sql_builds_every_field_of_the_serializer_in_its_order():
    assert list(representation.FIELDS) == list(ApiUserOutputSerializer().fields)


# Text a client could have written: no control, format or surrogate characters.
text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs")), min_size=1, max_size=60
)
moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
# Whole seconds half of the time: the representation then has no fraction at all.
moments = st.one_of(moments, moments.map(lambda moment: moment.replace(microsecond=0)))
colors = st.from_regex(r"\A[a-zA-Z0-9#_-]{0,12}\Z")
role_names = st.sampled_from(["Owner", "Admin", "Auditor", "Billing", "Developer", "SecOps"])
user = st.fixed_dictionaries(
    {
        "name": text,
        "changed": moments,
        "active": st.booleans(),
        "labels": st.lists(
            st.tuples(text, colors, moments), max_size=4, unique_by=lambda label: label[0]
        ),
        "roles": st.lists(
            st.tuples(role_names, st.sampled_from(list(Tier.values)), text), max_size=4
        ),
        "key": st.sampled_from(["none", "current", "rotated"]),
        "changer_deleted": st.booleans(),
    }
)


def make(account, spec: dict, index: int) -> User:
    changer = User(account=account, name=f"changer-{index}", is_apiuser=True)
    changer.changed_by_id = changer.id
    changer.deleted = spec["changed"] if spec["changer_deleted"] else None
    changer.save()
    made = User(
        account=account,
        name=spec["name"],
        is_apiuser=True,
        active=spec["active"],
        changed=spec["changed"],
        changed_by=changer,
    )
    made.save()
    labels = []
    for name, color, changed in spec["labels"]:
        label, _ = Label.objects.get_or_create(
            account=account,
            name=name,
            defaults={"color": color, "changed": changed, "changed_by": changer},
        )
        labels.append(label)
    made.labels.set(labels)
    for role_name, tier, scope_name in spec["roles"]:
        scope = {}
        if tier == Tier.TEAM:
            scope["team"] = Team.objects.create(account=account, name=scope_name)
        elif tier == Tier.TARGET:
            scope["target"] = Target.objects.create(
                account=account, name=scope_name, url="https://example.com/"
            )
        UserRole.objects.get_or_create(
            user=made, role=Role.objects.get(name=role_name), tier=tier, **scope
        )
    if spec["key"] != "none":
        ApiKey.objects.create(user=made, prefix=f"C{made.id[:7]}", digest="0" * 64)
    if spec["key"] == "rotated":
        ApiKey.objects.create(
            user=made, prefix=f"R{made.id[:7]}", digest="0" * 64, expires=spec["changed"]
        )
    return made


@pytest.mark.postgres
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=st.lists(user, min_size=1, max_size=3))
def test_postgresql_renders_exactly_what_the_serializer_renders(db, specs):
    if connection.vendor != "postgresql":
        pytest.skip("The one-query representation is PostgreSQL's; SQLite uses the serializer.")
    account = AccountFactory()
    ids = [make(account, spec, index).id for index, spec in enumerate(specs)]
    ids.append("Missing1d234")

    built = representation.api_users(account, ids)
    serialized = representation.serialized(account, ids)

    assert len(built) == len(specs)
    assert JSONRenderer().render(built) == JSONRenderer().render(serialized)
