"""The :class:`~mlmodels.engine.base.Table` of a Spark DataFrame (dbt-spark's refs).

Queries stay lazy on the cluster. Reading rows into Python (training, a gate's partition, a
profile's sample) collects them to the driver as Arrow, guarded by
:func:`~mlmodels.engine.base.max_driver_rows`; scoring does not collect: :meth:`map_batches`
runs the scorer on the workers with ``mapInArrow``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlmodels.engine.base import DriverMemoryError, Table, max_driver_rows

# Spark's type names (DataFrame.dtypes) as the upper-case names the rest of mlmodels reads
# (DuckDB's): a check such as "numeric feature stored as text" is then engine-independent.
_TYPE_NAMES = {"string": "VARCHAR", "double": "DOUBLE", "float": "FLOAT", "int": "INTEGER",
               "bigint": "BIGINT", "smallint": "SMALLINT", "tinyint": "TINYINT",
               "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP WITH TIME ZONE",
               "timestamp_ntz": "TIMESTAMP", "binary": "BLOB"}

_NULLABLE_INTS = {pa.int8(): "Int8", pa.int16(): "Int16", pa.int32(): "Int32", pa.int64(): "Int64"}


def duckdb_type_name(spark_type: str) -> str:
    """Return the DuckDB name of a Spark type name (``decimal(18,2)`` -> ``DECIMAL(18,2)``)."""
    if spark_type.startswith(("varchar", "char")):
        return "VARCHAR"
    if spark_type.startswith("decimal"):
        return spark_type.upper()
    return _TYPE_NAMES.get(spark_type, spark_type.upper())


class SparkTable(Table):
    """A Spark DataFrame: lazy queries on the cluster, rows collected only when read."""

    @property
    def columns(self) -> list[str]:
        """The column names, in order."""
        return list(self.raw.columns)

    @property
    def types(self) -> list[str]:
        """The column types, named as DuckDB names them (see :func:`duckdb_type_name`)."""
        return [duckdb_type_name(t) for _, t in self.raw.dtypes]

    def quote(self, identifier: str) -> str:
        """Return ``identifier`` in backticks (Spark SQL reads double quotes as a string)."""
        return "`" + identifier.replace("`", "``") + "`"

    def query(self, sql: str) -> SparkTable:
        """Return the result of ``sql`` over this DataFrame (named ``{rel}`` in it)."""
        # spark.sql binds DataFrames passed by keyword to their {name} placeholders: ALIAS.
        return SparkTable(self.raw.sparkSession.sql(sql, rel=self.raw))

    def sample(self, rows: int, seed: int) -> SparkTable:
        """Return a seeded Bernoulli sample of about ``rows`` rows (at most ``rows``)."""
        total = self.count()
        if total <= rows:
            return self
        # 10% over the expected share, then cut: almost always ``rows`` rows exactly.
        fraction = min(1.0, 1.1 * rows / total)
        return SparkTable(self.raw.sample(withReplacement=False, fraction=fraction,
                                          seed=seed).limit(rows))

    def anti_join(self, other: Table, keys: list[str]) -> SparkTable:
        """Return the rows with no row of ``other`` equal on every one of ``keys``."""
        return SparkTable(self.raw.join(other.raw, on=keys, how="left_anti"))

    def fetchall(self) -> list[tuple]:
        """Return every row as a tuple (collected to the driver)."""
        return [tuple(row) for row in self._guarded().collect()]

    def df(self) -> pd.DataFrame:
        """Return the rows as pandas, as DuckDB's ``df()`` gives them.

        Through Arrow, with DuckDB's conversions: dates as ``datetime64`` and decimals as
        float64 (pandas would hold ``Decimal`` objects, which no estimator or expectation reads
        as numbers).
        """
        # Decimals become doubles in Spark (a correctly rounded division, as DuckDB's): Arrow's
        # own decimal cast can miss the nearest double by one unit in the last place.
        doubles = SparkTable(self.raw.selectExpr(*[
            f"cast({self.quote(name)} as double) as {self.quote(name)}"
            if kind.startswith("decimal") else self.quote(name)
            for name, kind in self.raw.dtypes]))
        rows = doubles._arrow()
        fields = [field.with_type(pa.timestamp("us")) if pa.types.is_date(field.type)
                  else field for field in rows.schema]
        frame = rows.cast(pa.schema(fields)).to_pandas()
        for name, column in zip(rows.column_names, rows.columns, strict=True):
            if pa.types.is_integer(column.type) and column.null_count:
                # DuckDB gives an integer column with nulls as pandas' nullable integers.
                frame[name] = frame[name].astype(_NULLABLE_INTS.get(column.type, "Int64"))
        return frame

    def arrow_batches(self, rows: int) -> pa.RecordBatchReader:
        """Return the rows collected to the driver, as batches of at most ``rows`` rows."""
        collected = self._arrow()
        return pa.RecordBatchReader.from_batches(collected.schema,
                                                 collected.to_batches(max_chunksize=rows))

    def arrow_schema(self) -> pa.Schema:
        """Return the Arrow schema of the rows, reading none."""
        return _naive_timestamps(self.raw.limit(0).toArrow().schema)

    def map_batches(self, function: Callable[[pa.RecordBatchReader], pa.RecordBatchReader],
                    schema: pa.Schema, batch_rows: int = 100_000) -> Any:
        """Return a lazy DataFrame of ``function`` run on the workers, partition by partition."""
        from pyspark.sql.pandas.types import from_arrow_schema

        del batch_rows  # Spark's own spark.sql.execution.arrow.maxRecordsPerBatch applies

        def on_worker(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            first = next(batches, None)
            if first is None:
                return
            # The rows as arrow_schema() describes them: timestamps naive, as on the driver.
            naive = _naive_timestamps(first.schema)
            rows = pa.RecordBatchReader.from_batches(
                naive, (b.cast(naive) for b in itertools.chain([first], batches)))
            for batch in function(rows):
                yield batch.cast(schema) if batch.schema != schema else batch

        return self.raw.mapInArrow(on_worker, from_arrow_schema(schema))

    def write_parquet(self, path: str) -> None:
        """Write the rows to one Parquet file (collected to the driver: for small tables)."""
        pq.write_table(self._arrow(), path)

    def _guarded(self) -> Any:
        """Return the DataFrame after checking it fits the driver's row limit."""
        limit = max_driver_rows()
        found = self.raw.limit(limit + 1).count()
        if found > limit:
            raise DriverMemoryError(
                f"more than {limit:,} rows would be collected to the Spark driver; raise "
                "MLMODELS_MAX_DRIVER_ROWS if the driver has the memory (about 8 bytes per "
                "numeric value, more for text), or train on a sample of the as_of dates")
        return self.raw

    def _arrow(self) -> pa.Table:
        """Return the rows as one Arrow table on the driver (guarded), timestamps naive."""
        collected = self._guarded().toArrow()
        return collected.cast(_naive_timestamps(collected.schema))


def _naive_timestamps(schema: pa.Schema) -> pa.Schema:
    """Return ``schema`` with time-zoned timestamps as naive UTC ones (DuckDB's TIMESTAMP)."""
    return pa.schema([
        field.with_type(pa.timestamp(field.type.unit))
        if pa.types.is_timestamp(field.type) and field.type.tz else field
        for field in schema])


def to_spark_frame(spark: Any, result: Any) -> Any:
    """Return a Python model's result as a Spark DataFrame, its columns' types kept.

    ``result`` is a Spark DataFrame (returned as it is), a pandas DataFrame, or Arrow (a Table
    or a RecordBatchReader, as the scoring step returns on DuckDB). Columns Arrow types as null
    (all values missing, no type) become strings, and timestamps microseconds, as Parquet and
    Spark store them.

    Raises
    ------
    TypeError
        For any other kind of result.
    """
    from pyspark.sql import DataFrame

    if isinstance(result, DataFrame):
        return result
    if isinstance(result, pa.RecordBatchReader):
        result = result.read_all()
    if isinstance(result, pd.DataFrame):
        result = pa.Table.from_pandas(result, preserve_index=False)
    if not isinstance(result, pa.Table):
        raise TypeError(f"a dbt Python model on Spark must return a Spark or pandas DataFrame "
                        f"or Arrow data, got {type(result).__module__}.{type(result).__name__}")
    fields = []
    for field in result.schema:
        if pa.types.is_null(field.type):
            field = field.with_type(pa.string())
        elif pa.types.is_timestamp(field.type):
            field = field.with_type(pa.timestamp("us", field.type.tz))
        fields.append(field)
    return spark.createDataFrame(result.cast(pa.schema(fields)))

