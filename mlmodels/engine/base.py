"""The :class:`Table` interface, its engine-independent methods, and :func:`table`."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa

# Rows a Spark table may collect to the driver (training, gates, profiles): above it the step
# fails with a clear error instead of running the driver out of memory. Override with the
# environment variable of the same name.
MAX_DRIVER_ROWS = 20_000_000
MAX_DRIVER_ROWS_ENV = "MLMODELS_MAX_DRIVER_ROWS"
ALIAS = "{rel}"  # how the SQL given to Table.query names the table itself


class DriverMemoryError(RuntimeError):
    """Raised when a step would collect more rows to the Spark driver than allowed."""


class Table(ABC):
    """A warehouse relation seen through the operations mlmodels needs.

    SQL arguments (conditions, select lists) use the dialect both engines share; every method
    that returns a ``Table`` is lazy, the others run a query.
    """

    def __init__(self, raw: Any):
        self.raw = raw

    # -- what each engine provides -----------------------------------------------------------
    @property
    @abstractmethod
    def columns(self) -> list[str]:
        """The column names, in order."""

    @property
    @abstractmethod
    def types(self) -> list[str]:
        """The column types as upper-case SQL names (``VARCHAR``, ``DOUBLE``, ``DATE``, ...)."""

    @abstractmethod
    def quote(self, identifier: str) -> str:
        """Return ``identifier`` quoted for this engine's SQL."""

    @abstractmethod
    def query(self, sql: str) -> Table:
        """Return the result of ``sql``, a query that names this table ``{rel}``."""

    @abstractmethod
    def sample(self, rows: int, seed: int) -> Table:
        """Return a seeded random sample of about ``rows`` rows."""

    @abstractmethod
    def fetchall(self) -> list[tuple]:
        """Return every row as a tuple (for small results: counts, dates, aggregates)."""

    @abstractmethod
    def df(self) -> pd.DataFrame:
        """Return the rows as a pandas DataFrame (dates as ``datetime64``)."""

    @abstractmethod
    def arrow_batches(self, rows: int) -> pa.RecordBatchReader:
        """Return the rows as a stream of Arrow record batches of at most ``rows`` rows."""

    @abstractmethod
    def arrow_schema(self) -> pa.Schema:
        """Return the Arrow schema of the rows, reading none."""

    @abstractmethod
    def map_batches(self, function: Callable[[pa.RecordBatchReader], pa.RecordBatchReader],
                    schema: pa.Schema, batch_rows: int = 100_000) -> Any:
        """Apply ``function`` to the rows as Arrow batches; return what a Python model returns.

        ``schema`` is the schema of what ``function`` returns; ``batch_rows`` bounds its input
        batches (on Spark, each partition's batches, of ``maxRecordsPerBatch`` rows, as they come).

        On DuckDB the function runs here and its reader is returned. On Spark it runs on the
        workers, one partition at a time (``mapInArrow``), and a lazy DataFrame is returned:
        ``function`` and what it closes over are pickled to every worker.
        """

    @abstractmethod
    def anti_join(self, other: Table, keys: list[str]) -> Table:
        """Return the rows with no row of ``other`` equal on every one of ``keys``."""

    @abstractmethod
    def write_parquet(self, path: str) -> None:
        """Write the rows to one Parquet file at ``path``."""

    # -- built on the above ------------------------------------------------------------------
    def filter(self, condition: str) -> Table:
        """Return the rows where ``condition`` holds."""
        return self.query(f"select * from {ALIAS} where {condition}")

    def project(self, expressions: str) -> Table:
        """Return ``select <expressions>`` over the rows."""
        return self.query(f"select {expressions} from {ALIAS}")

    def order(self, expressions: str) -> Table:
        """Return the rows ordered by ``expressions``."""
        return self.query(f"select * from {ALIAS} order by {expressions}")

    def limit(self, rows: int) -> Table:
        """Return at most ``rows`` rows."""
        return self.query(f"select * from {ALIAS} limit {int(rows)}")

    def aggregate(self, expressions: str, group_by: str | None = None) -> Table:
        """Return ``select <expressions> ... group by <group_by>`` (one row without a group)."""
        grouping = f" group by {group_by}" if group_by else ""
        return self.query(f"select {expressions} from {ALIAS}{grouping}")

    def count(self) -> int:
        """Return the number of rows."""
        return int(self.aggregate("count(*)").fetchall()[0][0])

    def distinct_values(self, column: str) -> list[Any]:
        """Return the distinct values of ``column`` (nulls included), unordered."""
        return [row[0] for row in self.query(
            f"select distinct {self.quote(column)} from {ALIAS}").fetchall()]


def max_driver_rows() -> int:
    """Return the row limit for collecting to the Spark driver (see :data:`MAX_DRIVER_ROWS`)."""
    return int(os.environ.get(MAX_DRIVER_ROWS_ENV, MAX_DRIVER_ROWS))
