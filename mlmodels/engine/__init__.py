"""The few operations the Python layer needs of a warehouse relation, on DuckDB or on Spark.

dbt hands a Python model its refs as the engine's own objects: a ``DuckDBPyRelation`` on
dbt-duckdb, a ``pyspark.sql.DataFrame`` on dbt-spark. Everything in mlmodels that reads a
relation wraps it with :func:`table` and uses only :class:`Table`'s methods, so the training,
gate, profile and scoring steps run unchanged on either engine. The SQL passed in is the common
subset of both dialects (ANSI expressions, ``date '...'`` literals); identifiers are quoted with
:meth:`Table.quote`, since DuckDB takes double quotes and Spark backticks.

What the engines do differently stays here: sampling (DuckDB's reservoir, Spark's ``sample``),
reading rows (DuckDB streams Arrow batches; Spark collects them to the driver, refusing more
than :data:`MAX_DRIVER_ROWS`) and scoring (:meth:`Table.map_batches`: in process on DuckDB, a
lazy ``mapInArrow`` over the workers on Spark, so no row to score passes through the driver).
"""

from __future__ import annotations

from mlmodels.engine.base import MAX_DRIVER_ROWS, DriverMemoryError, Table
from mlmodels.engine.session import add_missing_columns, read_table
from mlmodels.engine.wrap import table

__all__ = ["MAX_DRIVER_ROWS", "DriverMemoryError", "Table", "add_missing_columns", "read_table",
           "table"]
