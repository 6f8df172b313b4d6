"""SQL written once, for the few statements every request makes.

Building a queryset and compiling it costs more than running it when the query is small and
runs on every request (authentication, a write's lock and read, its UPDATE and history row).
Such a statement is written as SQL once, its columns taken from the model (`Columns`, `insert`,
`update`), so a field added to the model is read and written without touching it. Each row read
becomes an instance as the ORM would make it, through the same converters (SQLite's text
timestamps, JSON fields), and each value written goes through the field's own preparation
(`get_db_prep_save`), as the ORM's would. The few words in which PostgreSQL and SQLite differ are
`DIALECTS`'.
"""

import json
from collections.abc import Sequence
from functools import cache, lru_cache

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Col

# How a JSON array and a JSON object are built, and how a column is matched against a list of
# values given as one parameter (`list_param`), whatever its length.
DIALECTS = {
    "postgresql": {
        "array": "json_agg({})",
        "object": "json_build_object({})",
        "in": "= ANY(%s)",
    },
    "sqlite": {
        "array": "json_group_array(json({}))",
        "object": "json_object({})",
        "in": "IN (SELECT value FROM json_each(%s))",
    },
}


def database() -> BaseDatabaseWrapper:
    """This thread's connection to the database itself. `django.db.connection` is a proxy that
    finds it again on every attribute read, a few microseconds each: the code every request
    runs finds it once."""
    return connections[DEFAULT_DB_ALIAS]


def list_param(values: list[str]) -> list[str] | str:
    """A list of values as `DIALECTS`' `in` takes it: an array, or a JSON array for SQLite."""
    return values if database().vendor == "postgresql" else json.dumps(values)


def matching(vendor: str, one: bool) -> str:
    """How a column is matched against keys given as one parameter (`keys_param`): `= %s` for a
    single key, else `DIALECTS`' `in`. PostgreSQL keeps a prepared statement's generic plan
    only while a custom plan does not look cheaper, and for `= ANY($1)` one always does once a
    table has statistics (a generic plan cannot know the array holds one key): the statement
    was planned afresh on every run, while `= $1` is planned once per connection."""
    return "= %s" if one else DIALECTS[vendor]["in"]


def keys_param(keys: list):
    """The parameter `matching` takes for these keys: the key itself, or the list."""
    return keys[0] if len(keys) == 1 else list_param(keys)


def json_column(value):
    """A JSON column: parsed already (PostgreSQL's json) or text (SQLite); NULL is empty."""
    return json.loads(value) if isinstance(value, str) else value or []


class Columns:
    """Every concrete field of `model` but those named in `without` (deferred on the instances,
    as `QuerySet.defer` leaves them), read from the table aliased `alias`."""

    def __init__(self, model: type[models.Model], alias: str, without: tuple[str, ...] = ()):
        self.model = model
        self.fields = [field for field in model._meta.concrete_fields if field.name not in without]
        self.names = [field.attname for field in self.fields]
        self.sql = ", ".join(f'{alias}."{field.column}"' for field in self.fields)
        self._converters: dict[str, list[tuple[int, list, Col]]] = {}

    def __len__(self) -> int:
        return len(self.fields)

    def instance(self, values, connection: BaseDatabaseWrapper) -> models.Model:
        """The instance whose row is `values` (as the database returned them, in field order)."""
        values = list(values)
        for index, converters, column in self.converters(connection):
            for convert in converters:
                values[index] = convert(values[index], column, connection)
        return self.model.from_db(connection.alias, self.names, values)

    def converters(self, connection: BaseDatabaseWrapper) -> list[tuple[int, list, Col]]:
        """What the ORM's compiler applies to each column on this database, found once."""
        if connection.vendor not in self._converters:
            found = []
            for index, field in enumerate(self.fields):
                column = field.get_col("")
                converters = connection.ops.get_db_converters(column) + column.get_db_converters(
                    connection
                )
                if converters:
                    found.append((index, converters, column))
            self._converters[connection.vendor] = found
        return self._converters[connection.vendor]


# The most values one statement may carry: SQLite's limit as Django assumes it (999), else
# PostgreSQL's (65,535: the count of a statement's parameters is 16 bits).
MAX_PARAMETERS = 65535


def insert(objs: Sequence[models.Model]) -> None:
    """INSERT new instances of one model, as many rows per statement as the database takes:
    what `bulk_create` does for a model whose ids Python makes, without building and compiling
    a query each time. Every concrete field is written, prepared as the ORM prepares it (a
    default is applied when the instance is made)."""
    model = type(objs[0])
    fields = model._meta.concrete_fields
    db = database()
    per_statement = (db.features.max_query_params or MAX_PARAMETERS) // len(fields)
    with db.cursor() as cursor:
        for start in range(0, len(objs), per_statement):
            batch = objs[start : start + per_statement]
            values = [
                field.get_db_prep_save(field.pre_save(obj, add=True), db)
                for obj in batch
                for field in fields
            ]
            cursor.execute(_insert_sql(model, len(batch)), values)


@lru_cache(maxsize=64)
def _insert_sql(model: type[models.Model], rows: int) -> str:
    meta = model._meta
    columns = ", ".join(f'"{field.column}"' for field in meta.concrete_fields)
    row = "({})".format(", ".join(["%s"] * len(meta.concrete_fields)))
    # Names from the model only; every value is a parameter.
    return f'INSERT INTO "{meta.db_table}" ({columns}) VALUES {", ".join([row] * rows)}'  # noqa: S608


def update(model: type[models.Model], pks: list, values: dict) -> None:
    """UPDATE the rows of these primary keys, setting each field named in `values` (a foreign
    key takes the related instance or its key): `QuerySet.update` without compiling a query
    each time. One row is named by `=` (`matching`): a PATCH's UPDATE runs while it holds the
    user's row lock."""
    fields = [_column(model, name) for name in values]
    db = database()
    params = [
        field.get_db_prep_save(
            # What the ORM's UPDATE does with an instance: its key in the related table.
            value.prepare_database_save(field) if isinstance(value, models.Model) else value,
            db,
        )
        for field, value in zip(fields, values.values(), strict=True)
    ]
    with db.cursor() as cursor:
        cursor.execute(
            _update_sql(model, tuple(values), db.vendor, len(pks) == 1),
            [*params, keys_param(pks)],
        )


@cache
def _update_sql(model: type[models.Model], names: tuple[str, ...], vendor: str, one: bool) -> str:
    meta = model._meta
    assignments = ", ".join(f'"{_column(model, name).column}" = %s' for name in names)
    # Names from the model only; every value is a parameter.
    return (
        f'UPDATE "{meta.db_table}" SET {assignments} '  # noqa: S608
        f'WHERE "{meta.pk.column}" {matching(vendor, one)}'
    )


def _column(model: type[models.Model], name: str) -> models.Field:
    """The field of `model` named `name`, which must be a column of its table."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or field not in model._meta.concrete_fields:
        raise ValueError(f"{model.__name__}.{name} is not a column.")
    return field
