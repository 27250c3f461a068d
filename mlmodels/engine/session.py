"""What a Python model's ``session`` argument is asked for: a table beside the model."""

from __future__ import annotations

from typing import Any

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
