"""Wrap an engine's relation as a :class:`~mlmodels.engine.base.Table`."""

from __future__ import annotations

from typing import Any

from mlmodels.engine.base import Table


def table(relation: Any) -> Table:
    """Wrap an engine's relation (or return a :class:`Table` as it is).

    Raises
    ------
    TypeError
        If ``relation`` is neither a DuckDB relation nor a Spark DataFrame.
    """
    if isinstance(relation, Table):
        return relation
    module = type(relation).__module__
    if module.startswith(("duckdb", "_duckdb")):
        from mlmodels.engine.duckdb_table import DuckDBTable

        return DuckDBTable(relation)
    if module.startswith("pyspark"):
        from mlmodels.engine.spark_table import SparkTable

        return SparkTable(relation)
    raise TypeError(f"mlmodels reads DuckDB relations and Spark DataFrames; got "
                    f"{type(relation).__module__}.{type(relation).__name__}")
