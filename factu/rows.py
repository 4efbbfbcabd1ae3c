"""Model instances from one hand-written SELECT over several tables, as the ORM builds them.

For the few hot paths where one query can replace several lookups the ORM cannot join (rows
of unrelated tables): :func:`columns` writes the select list of a model, :func:`instances`
turns the row back into instances, each value through the same database converters the ORM's
compiler applies (SQLite hands back text for UUIDs, dates and times, integers for booleans).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model

_converters: dict[tuple[str, str, type[Model]], list] = {}


def columns(model: type[Model], alias: str) -> str:
    """Every concrete column of ``model`` under the table alias ``alias``."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


def _field_converters(model: type[Model]) -> list:
    key = (connection.alias, connection.vendor, model)
    if key not in _converters:
        found = []
        for field in model._meta.concrete_fields:
            col = field.get_col(model._meta.db_table)  # a foreign key's is its target's type
            convert = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            found.append((col, convert))
        _converters[key] = found
    return _converters[key]


def instances(row: Sequence, *models: type[Model]) -> list[Model]:
    """One instance per model from ``row``, whose columns are ``columns()`` of each in turn."""
    built, start = [], 0
    for model in models:
        fields = model._meta.concrete_fields
        values = []
        for value, (col, convert) in zip(
            row[start : start + len(fields)], _field_converters(model), strict=True
        ):
            for converter in convert:
                value = converter(value, col, connection)
            values.append(value)
        built.append(model.from_db(connection.alias, [f.attname for f in fields], values))
        start += len(fields)
    if start != len(row):
        raise ValueError(f"the row has {len(row)} columns, the models {start}")
    return built
