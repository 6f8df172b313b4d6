"""The representation of API users, built by PostgreSQL in one query.

`ApiUserOutputSerializer` defines the representation (and the OpenAPI document); on PostgreSQL this
module builds the same objects with `json_build_object`/`json_agg`, so that a GET costs one round
trip and no ORM or serializer work, whatever the number of labels and roles. The SQL is
assembled from one expression per field, in the serializer's field order; tests prove the two
byte-identical for generated users and fail when a field is added to one path only. Other
databases (SQLite) take the serializer's path, through `selectors.api_users_for_display`.
"""

from collections.abc import Callable

from . import keys, selectors
from .models import Account
from .rows import database, keys_param, matching


def timestamp(column: str) -> str:
    """A timestamp as DRF writes it: ISO 8601 in UTC with `Z`, microseconds only when not 0
    (Python's `isoformat`)."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
        f"extract(microseconds FROM {utc})::bigint %% 1000000 = 0 THEN '' "
        f"ELSE to_char({utc}, '.US') END || 'Z'"
    )


def json_object(fields: dict[str, str]) -> str:
    pairs = ", ".join(f"'{name}', {expression}" for name, expression in fields.items())
    return f"json_build_object({pairs})"


def simple_user(alias: str) -> str:
    return json_object({"id": f"{alias}.id", "email": f"{alias}.email", "name": f"{alias}.name"})


LABEL = json_object(
    {
        "id": "l.id",
        "name": "l.name",
        "color": "l.color",
        "changed_by": simple_user("lc"),
        "changed": timestamp("l.changed"),
    }
)
SCOPE = (
    "json_strip_nulls("
    + json_object(
        {
            "tier": "ur.tier",
            "target": "CASE WHEN tg.id IS NULL THEN NULL ELSE "
            + json_object({"id": "tg.id", "name": "tg.name", "url": "tg.url"})
            + " END",
            "team": "CASE WHEN tm.id IS NULL THEN NULL ELSE "
            + json_object({"id": "tm.id", "name": "tm.name"})
            + " END",
        }
    )
    + ")"
)
USER_ROLE = json_object(
    {"id": "ur.id", "role": json_object({"id": "r.id", "name": "r.name"}), "scope": SCOPE}
)

# One SQL expression per field of ApiUserOutputSerializer, in its order.
FIELDS = {
    "id": "u.id",
    "name": "u.name",
    "changed_by": simple_user("uc"),
    "changed": timestamp("u.changed"),
    "active": "u.active",
    "labels": f"""coalesce((
        SELECT json_agg({LABEL} ORDER BY l.name, l.id)
        FROM apiusers_user_labels ul
        JOIN apiusers_label l ON l.id = ul.label_id
        JOIN apiusers_user lc ON lc.id = l.changed_by_id
        WHERE ul.user_id = u.id), '[]'::json)""",
    "user_roles": f"""coalesce((
        SELECT json_agg({USER_ROLE} ORDER BY r.name, ur.tier, ur.id)
        FROM apiusers_userrole ur
        JOIN apiusers_role r ON r.id = ur.role_id
        LEFT JOIN apiusers_target tg ON tg.id = ur.target_id
        LEFT JOIN apiusers_team tm ON tm.id = ur.team_id
        WHERE ur.user_id = u.id), '[]'::json)""",
    "is_apiuser": "u.is_apiuser",
    "key": f"""coalesce((
        SELECT k.prefix || '{keys.redact("")}'
        FROM apiusers_apikey k
        WHERE k.user_id = u.id AND k.expires IS NULL
        ORDER BY k.created DESC, k.id LIMIT 1), '')""",
}

# By whether it reads one API user (`rows.matching`).
QUERY = {
    one: f"""
    SELECT u.id, {json_object(FIELDS)}
    FROM apiusers_user u
    JOIN apiusers_user uc ON uc.id = u.changed_by_id
    WHERE u.id {matching("postgresql", one)} AND u.account_id = %s AND u.is_apiuser
        AND u.deleted IS NULL
"""
    for one in (True, False)
}


def api_users(account: Account, ids: list[str]) -> list[dict]:
    """The representations of these API users of the account, in the order of `ids`; ids that
    name none (missing, deleted, of another account) are left out."""
    return pending_api_users(account, ids)()


def pending_api_users(account: Account, ids: list[str]) -> Callable[[], list[dict]]:
    """`api_users`, its query sent now and its rows read when the function returned is called:
    inside a pipeline (`services.api_users.pipelined`) they arrive with the results of the
    statements sent after it, a COMMIT among them."""
    db = database()
    if db.vendor != "postgresql":
        found = serialized(account, ids)
        return lambda: found
    cursor = db.cursor()
    cursor.execute(QUERY[len(ids) == 1], [keys_param(list(ids)), account.pk])

    def read() -> list[dict]:
        with cursor:
            found = dict(cursor.fetchall())
        return [found[pk] for pk in ids if pk in found]

    return read


def serialized(account: Account, ids: list[str]) -> list[dict]:
    """The same, through the ORM and the serializer that defines it."""
    from .serializers.api_users import ApiUserOutputSerializer

    found = selectors.api_users_for_display(account).in_bulk(ids)
    return [ApiUserOutputSerializer(found[pk]).data for pk in ids if pk in found]
