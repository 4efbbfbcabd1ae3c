"""Model instances from a hand-written SELECT, as the ORM builds them: for the places
where bench/README.md shows the ORM's statement building misses a target.

The statements :mod:`verifactu.chains` and :mod:`verifactu.records` run while they hold a
chain's lock (every other appender of the chain waits for them), the bearer-token lookup
of every API request (:mod:`api.authentication`) and the v1 write's taxpayer-and-system
lookup (:mod:`api.tenancy`). Everything else reads through the ORM.
:func:`columns` writes the select list of a model, :func:`instances` turns the row back into
instances (:func:`values`: single columns), each value through the same database converters
the ORM's compiler applies (SQLite hands back text for UUIDs, dates and times, integers for
booleans).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import Field, Model

_converters: dict[tuple[str, str, Field], tuple] = {}


def columns(model: type[Model], alias: str) -> str:
    """Every concrete column of ``model`` under the table alias ``alias``."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


def _converted(value, field: Field):
    key = (connection.alias, connection.vendor, field)
    if key not in _converters:
        col = field.get_col(field.model._meta.db_table)  # a foreign key's is its target's type
        convert = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        _converters[key] = (col, convert)
    col, convert = _converters[key]
    for converter in convert:
        value = converter(value, col, connection)
    return value


def values(row: Sequence, *fields: Field) -> list:
    """The values of ``row``, a column per model field given, as the ORM would read them."""
    return [_converted(value, field) for value, field in zip(row, fields, strict=True)]


def instances(row: Sequence, *models: type[Model]) -> list[Model]:
    """One instance per model from ``row``, whose columns are ``columns()`` of each in turn."""
    built, start = [], 0
    for model in models:
        fields = model._meta.concrete_fields
        loaded = values(row[start : start + len(fields)], *fields)
        built.append(model.from_db(connection.alias, [f.attname for f in fields], loaded))
        start += len(fields)
    if start != len(row):
        raise ValueError(f"the row has {len(row)} columns, the models {start}")
    return built


def db_id(model: type[Model], value):
    """``value`` as a parameter for ``model``'s primary key column (SQLite keeps UUIDs as hex)."""
    return model._meta.pk.get_db_prep_value(value, connection)
