"""Scale check of the lists: one account with 100,000 API users on PostgreSQL, and the time of
every list variant against it, answered in-process by the WSGI application (no HTTP server, no
network: what is measured is Django, DRF and the database).

    createdb -h 127.0.0.1 -U postgres lists_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/lists_bench
    DJANGO_SECRET_KEY=bench-only .venv/bin/python manage.py migrate
    .venv/bin/python bench/lists.py seed        # COPY: about a minute
    .venv/bin/python bench/lists.py time        # p50, p95 and max of each variant
    .venv/bin/python bench/lists.py time 30 search   # 30 rounds of the variants named *search*
    .venv/bin/python bench/lists.py explain "search=ci prod"   # the plans of one list request
    .venv/bin/python bench/lists.py explain combined          # ... or of one variant, by name

`seed` refuses to run twice in one database, and ends with VACUUM ANALYZE: COPY leaves the
visibility map empty, so that until autovacuum passes, as it would have long since on a live
table, an index-only scan still reads the table. The account has 300 labels (3 per user), 40 teams,
200 targets, and roles: 90% of the users have one at the account tier, and each of those a
second one scoped to a team or a target; every user has a current key.
"""

import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probely.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnop")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from apiusers.ids import random_base58  # noqa: E402
from apiusers.models import (  # noqa: E402
    Account,
    ApiKey,
    Label,
    Role,
    Target,
    Team,
    Tier,
    User,
    UserRole,
)
from apiusers.services.api_users import api_user_create  # noqa: E402

ACCOUNT = "List bench"
USERS = 100_000
WORDS = [
    "alpha", "bravo", "ci", "deploy", "edge", "front", "gate", "hook", "infra", "jobs",
    "kube", "lint", "mail", "nightly", "ops", "prod", "qa", "release", "scan", "test",
]  # fmt: skip
KEY_FILE = Path(__file__).resolve().parent.parent / "var" / "lists_bench_key"


def copy(model, objects, fields=None) -> None:
    """Write model instances with PostgreSQL's COPY, far faster than INSERTs at this size."""
    fields = fields or [field for field in model._meta.concrete_fields]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
        ) as stream,
    ):
        for obj in objects:
            stream.write_row(
                [
                    field.get_db_prep_save(getattr(obj, field.attname), connection)
                    for field in fields
                ]
            )


def seed() -> None:
    if connection.vendor != "postgresql":
        sys.exit("The scale check needs PostgreSQL: set DATABASE_URL.")
    if Account.objects.filter(name=ACCOUNT).exists():
        sys.exit(f"The account {ACCOUNT!r} exists already in this database.")
    rng = random.Random(7)
    started = time.perf_counter()
    # The service's statement timeout is for requests: the COPY of the 300,000 label links and
    # the trigger that writes their users' search text (migration 0009) take longer.
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
    account = Account.objects.create(name=ACCOUNT)
    admin_role = Role.objects.get(name="Admin")
    caller, key = api_user_create(
        account=account,
        actor=None,
        name="bench-admin",
        user_roles=[{"role": admin_role, "tier": Tier.ACCOUNT, "team": None, "target": None}],
    )
    KEY_FILE.parent.mkdir(exist_ok=True)
    KEY_FILE.write_text(key)
    teams = Team.objects.bulk_create(Team(account=account, name=f"team-{n}") for n in range(40))
    targets = Target.objects.bulk_create(
        Target(account=account, name=f"target-{n}", url=f"https://t{n}.example.com/")
        for n in range(200)
    )
    labels = Label.objects.bulk_create(
        Label(account=account, name=f"{WORDS[n % 20]}-{n // 20}", changed_by=caller)
        for n in range(300)
    )
    roles = {role.name: role for role in Role.objects.all()}
    now = timezone.now()
    users = [
        User(
            account=account,
            name=f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{n}",
            password="!",
            active=rng.random() > 0.1,
            is_apiuser=True,
            changed=now - timezone.timedelta(seconds=rng.randrange(10**8)),
            changed_by=caller,
        )
        for n in range(USERS)
    ]
    copy(User, users)
    through = User.labels.through
    copy(
        through,
        (
            through(user_id=user.id, label_id=label.id)
            for user in users
            for label in rng.sample(labels, 3)
        ),
        fields=[through._meta.get_field("user"), through._meta.get_field("label")],
    )
    copy(UserRole, user_roles(rng, users, roles, teams, targets))
    copy(
        ApiKey,
        (ApiKey(user=user, prefix=random_base58(8), digest="0" * 64) for user in users),
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"Seeded {USERS} API users in {time.perf_counter() - started:.1f} s; key in {KEY_FILE}")


def user_roles(rng, users, roles, teams, targets):
    for user in users:
        if rng.random() < 0.1:
            continue
        yield UserRole(
            user=user, role=roles[rng.choice(["Developer", "Auditor", "SecOps"])], tier=Tier.ACCOUNT
        )
        if rng.random() < 0.5:
            yield UserRole(
                user=user, role=roles["Developer"], tier=Tier.TEAM, team=rng.choice(teams)
            )
        else:
            yield UserRole(
                user=user, role=roles["Auditor"], tier=Tier.TARGET, target=rng.choice(targets)
            )


def variants() -> dict[str, dict]:
    account = Account.objects.get(name=ACCOUNT)
    labels = list(Label.objects.filter(account=account).order_by("name")[:3])
    team = Team.objects.filter(account=account).order_by("name").first()
    target = Target.objects.filter(account=account).order_by("name").first()
    developer = Role.objects.get(name="Developer")
    five_terms = "a e i o u"
    return {
        "first page": {},
        "first page, length=100": {"length": 100},
        "deep page (page=5000)": {"page": 5000},
        "last page (length=100, page=1000)": {"length": 100, "page": 1000},
        "ordering=-changed": {"ordering": "-changed"},
        "ordering=-changed, page=5000": {"ordering": "-changed", "page": 5000},
        "search, 1 term (common: a)": {"search": "a"},
        "search, 1 term (rare: 99999)": {"search": "99999"},
        "search, 1 term (label: ci-1)": {"search": "ci-1"},
        "search, 2 terms (ci prod)": {"search": "ci prod"},
        f"search, 5 terms ({five_terms})": {"search": five_terms},
        "search, 5 terms, none matches": {"search": " ".join(f"zz{n}" for n in range(5))},
        "label (1)": {"label": labels[0].id},
        "label (3, or)": {"label": [label.id for label in labels]},
        "label (3, and)": {
            "label": [label.id for label in labels],
            "label_logical_operator": "and",
        },
        "role": {"role": developer.id},
        "team": {"team": team.id},
        "target": {"target": target.id},
        "exclude_team": {"exclude_team": team.id},
        "exclude_target": {"exclude_target": target.id},
        "account=false": {"account": "false"},
        "no_access=true": {"no_access": "true"},
        "active=false": {"active": "false"},
        "exclude=labels,user_roles": {"exclude": "labels,user_roles"},
        "combined": {
            "search": "ci",
            "label": labels[0].id,
            "role": developer.id,
            "exclude_team": team.id,
            "active": "true",
            "ordering": "-changed",
            "length": 100,
        },
        "search, 127 terms (refused)": {"search": " ".join(f"t{n}" for n in range(127))},
    }


def client() -> Client:
    return Client(HTTP_AUTHORIZATION=f"JWT {KEY_FILE.read_text()}", HTTP_HOST="127.0.0.1")


def timing(rounds: int, only: str) -> None:
    caller = client()
    print(f"{'variant':52} {'status':>6} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, query in variants().items():
        if only not in name:
            continue
        caller.get("/api-users/", query)
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            response = caller.get("/api-users/", query)
            times.append((time.perf_counter() - started) * 1000)
        count = response.json().get("count", "-") if response.status_code == 200 else "-"
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(
            f"{name:52} {response.status_code:>6} {count:>7} {statistics.median(times):8.1f} "
            f"{p95:8.1f} {times[-1]:8.1f}"
        )


def explain(query: str) -> None:
    """Runs one list request, a query string or the name of a variant, and prints each of its
    SQL statements with EXPLAIN ANALYZE."""
    named = variants()
    query_string = urlencode(named[query], doseq=True) if query in named else query
    print(f"== GET /api-users/?{query_string}")
    with CaptureQueriesContext(connection) as captured:
        response = client().get(f"/api-users/?{query_string}")
    print(f"== {response.status_code}, {len(captured)} queries")
    with connection.cursor() as cursor:
        for query in captured:
            sql = query["sql"]
            print(f"\n-- {sql[:2000]}")
            if sql.lstrip().upper().startswith("SELECT"):
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                print("\n".join(row[0] for row in cursor.fetchall()))


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "seed":
        seed()
    elif command == "time":
        timing(int(sys.argv[2]) if len(sys.argv) > 2 else 15, " ".join(sys.argv[3:]))
    elif command == "explain" and len(sys.argv) == 3:
        explain(sys.argv[2])
    else:
        sys.exit(__doc__)
