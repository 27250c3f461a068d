"""What a Python model's ``session`` argument is asked for: a table beside the model."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from mlmodels.engine.base import Table
from mlmodels.engine.wrap import table


def read_table(session: Any, this: Any, name: str) -> Table | None:
    """Return the table ``name`` in the schema of ``this`` (``dbt.this``), or None if absent.

    ``session`` is the Python model's session: a DuckDB connection or a SparkSession.
    """
    if type(session).__module__.startswith("pyspark"):
        qualified = f"`{this.schema}`.`{name}`"
        return table(session.table(qualified)) if session.catalog.tableExists(qualified) else None
    found = session.execute(
        "select count(*) from information_schema.tables "
        "where table_catalog = ? and table_schema = ? and table_name = ?",
        [this.database, this.schema, name]).fetchall()[0][0]
    if not found:
        return None
    return table(session.sql(f'select * from "{this.database}"."{this.schema}"."{name}"'))


# The SQL type of each Arrow type a table may gain, per engine (what the scores hold).
_DUCKDB_TYPES = {pa.float64(): "DOUBLE", pa.string(): "VARCHAR", pa.bool_(): "BOOLEAN",
                 pa.list_(pa.string()): "VARCHAR[]", pa.list_(pa.float64()): "DOUBLE[]"}
_SPARK_TYPES = {pa.float64(): "DOUBLE", pa.string(): "STRING", pa.bool_(): "BOOLEAN",
                pa.list_(pa.string()): "ARRAY<STRING>", pa.list_(pa.float64()): "ARRAY<DOUBLE>"}


def add_missing_columns(session: Any, this: Any, fields: pa.Schema) -> list[str]:
    """Add to the existing table ``this`` every field of ``fields`` it lacks (as nulls).

    An incremental table written by an older mlmodels keeps its rows and gains the columns a
    newer one writes, whatever the project's ``on_schema_change``: with dbt's default
    (``ignore``) the new columns would be dropped from every insert without a word. Returns the
    names added.
    """
    held = set(table(session.sql(f"select * from {this}")).columns)
    missing = [field for field in fields if field.name not in held]
    spark = type(session).__module__.startswith("pyspark")
    types = _SPARK_TYPES if spark else _DUCKDB_TYPES
    for field in missing:
        if field.type not in types:
            raise TypeError(f"{this}: cannot add column {field.name} of type {field.type}")
    if missing and spark:
        listed = ", ".join(f"`{field.name}` {types[field.type]}" for field in missing)
        session.sql(f"alter table {this} add columns ({listed})")
    for field in missing if not spark else []:
        session.execute(f'alter table {this} add column "{field.name}" {types[field.type]}')
    return [field.name for field in missing]
