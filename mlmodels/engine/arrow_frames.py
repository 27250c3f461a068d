"""DuckDB results read into pandas through Arrow, as the frame DuckDB's own ``.df()`` gives.

DuckDB's conversion to pandas costs about 0.65 ms a column on the 46,780-row demo mart (15.6 ms
for its 24 columns that are not text) and makes a Python ``str`` of every text value; pandas
builds the same columns from the result's Arrow table about ten times faster (1.7 ms). A column
is converted here only where this conversion gives what DuckDB gives, which is checked once per
process on a probe of each type with and without nulls (:func:`_probed`): the dtypes DuckDB
gives depend on its version and pandas'. Every other column (decimals, a text column with no
value) is converted by DuckDB, from the same Arrow table. Results with a type outside
``_SAFE`` (UUID, JSON, lists, structs, time zones, ENUM) or repeated column names are DuckDB's
``.df()`` itself.
"""

from __future__ import annotations

import re
import warnings
from typing import Any, NamedTuple

import pandas as pd
import pyarrow as pa

# Result types read through Arrow (tests/unit/test_engine.py compares the frame with .df()'s).
_SAFE = re.compile(
    r"(VARCHAR|BOOLEAN|U?(TINYINT|SMALLINT|INTEGER|BIGINT)|FLOAT|DOUBLE|DATE|TIMESTAMP"
    r"|DECIMAL\(\d+,\d+\))")
_INTEGER_BITS = {"TINYINT": 8, "SMALLINT": 16, "INTEGER": 32, "BIGINT": 64}
# DuckDB gives a column of these types with a null pandas' masked dtype, without one numpy's.
_MASKED = {"BOOLEAN": pd.BooleanDtype(),
           **{name: pd.api.types.pandas_dtype(f"Int{bits}")
              for name, bits in _INTEGER_BITS.items()},
           **{f"U{name}": pd.api.types.pandas_dtype(f"UInt{bits}")
              for name, bits in _INTEGER_BITS.items()}}
# duckdb 2 warns that Arrow from an executed statement copies its rows once more. Measured on
# the demo mart it is still the quickest way there (5.8 ms, against 7.5 ms through a relation,
# which binds the query again), so the warning is silenced for this module's call only.
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result makes an extra copy",
                        category=UserWarning, module=re.escape(__name__))


def _convert(sql_type: str, column: pa.ChunkedArray, text: Any) -> Any | None:
    """Return ``column``'s values for pandas as converted here, or None where DuckDB converts.

    ``text`` is the dtype DuckDB gives text. The values are fresh arrays, not views of Arrow's
    buffers: those are read-only, and a frame DuckDB returns can be written in place.
    """
    nulls = column.null_count
    if sql_type == "VARCHAR":
        # Only an Arrow-backed str dtype can take Arrow's strings as they are (pandas 2 gives
        # object); a text column with no value (or no rows) is object in DuckDB's conversion.
        usable = isinstance(text, pd.StringDtype) and text.storage == "pyarrow"
        return pd.array(column, dtype=text) if usable and nulls < len(column) else None
    if sql_type in _MASKED:
        return _MASKED[sql_type].__from_arrow__(column) if nulls else column.to_numpy().copy()
    if sql_type in ("FLOAT", "DOUBLE", "TIMESTAMP"):
        return column.to_numpy().copy()
    if sql_type == "DATE":
        return column.cast(pa.timestamp("us")).to_numpy().copy()
    return None


# The probe's values per type (SQL literals, cast to the type): extremes, zero, NaN, text that
# is empty or not ASCII, dates and timestamps beyond what nanoseconds hold.
_PROBE = {
    "VARCHAR": ("'a'", "''", "'ü'"),
    "BOOLEAN": ("true", "false", "true"),
    **{name: (str(-2 ** (bits - 1)), "0", str(2 ** (bits - 1) - 1))
       for name, bits in _INTEGER_BITS.items()},
    **{f"U{name}": ("0", "1", str(2 ** bits - 1)) for name, bits in _INTEGER_BITS.items()},
    "FLOAT": ("'-inf'", "'nan'", "-0.0"),
    "DOUBLE": ("'-inf'", "'nan'", "9007199254740993"),
    "DATE": ("'1677-09-21'", "'2024-02-29'", "'262000-01-01'"),
    "TIMESTAMP": ("'1970-01-01 00:00:00.000001'", "'2024-02-29 23:59:59'",
                  "'294247-01-10 04:00:54.775806'"),
}


class _Probe(NamedTuple):
    """What DuckDB's conversion gives, as the probe found it."""

    text: Any  # the dtype of a text column
    agreeing: frozenset[tuple[str, bool]]  # (type, holds a null): converted here alike


_probe: _Probe | None = None


def _probed(connection: Any) -> _Probe:
    """Return the probe of DuckDB's conversion, run once per process on ``connection``.

    One query holds each type's values twice: in a column without a null and in one whose last
    row is null. It is read both ways and compared value for value and dtype for dtype. It runs
    on the caller's connection (it reads no table): one of its own costs 20 ms to open.
    """
    global _probe
    if _probe is None:
        def cell(row: int, position: int, name: str, with_null: int) -> str:
            value = "null" if row == 3 and with_null else _PROBE[name][row % 3]
            return f"cast({value} as {name}) as c{position}_{with_null}"

        sql = " union all ".join(
            "select " + ", ".join(cell(row, position, name, with_null)
                                  for position, name in enumerate(_PROBE) for with_null in (0, 1))
            for row in range(4))
        expected = connection.execute(sql).df()
        arrow = connection.execute(sql).to_arrow_table()
        text = expected["c0_0"].dtype
        agreeing = set()
        for position, name in enumerate(_PROBE):
            for with_null in (0, 1):
                column = f"c{position}_{with_null}"
                converted = _convert(name, arrow.column(column), text)
                try:
                    pd.testing.assert_series_equal(pd.Series(converted, name=column),
                                                   expected[column], check_exact=True)
                except (AssertionError, TypeError, ValueError):
                    continue
                agreeing.add((name, bool(with_null)))
        _probe = _Probe(text, frozenset(agreeing))
    return _probe


def read_frame(connection: Any, sql: str) -> pd.DataFrame:
    """Return the rows of ``sql`` on a DuckDB connection as ``.df()`` returns them, faster.

    The query runs once; see the module's docstring for which columns pandas builds from Arrow
    and which DuckDB converts.
    """
    probe = _probed(connection)  # first: it runs queries on this connection
    result = connection.execute(sql)
    types = [str(column[1]) for column in result.description]
    names = [column[0] for column in result.description]
    if len(set(names)) < len(names) or not all(_SAFE.fullmatch(t) for t in types):
        return result.df()
    rows = result.to_arrow_table()
    columns: dict[str, Any] = {}
    for name, sql_type in zip(names, types, strict=True):
        column = rows.column(name)
        if (sql_type, column.null_count > 0) in probe.agreeing:
            converted = _convert(sql_type, column, probe.text)
            if converted is not None:
                columns[name] = converted
    left = [name for name in names if name not in columns]
    if left:
        by_duckdb = connection.from_arrow(rows.select(left)).df()
        columns.update((name, by_duckdb[name]) for name in left)
    # copy=False: the arrays are already this frame's own.
    return pd.DataFrame({name: columns[name] for name in names},
                        index=pd.RangeIndex(rows.num_rows), copy=False)
