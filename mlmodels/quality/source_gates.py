"""Draft the source-level gates of a raw table or staging model from the data it holds now.

Each gate is a dbt singular test (``tests/mlmodels/gates/<relation>/``) over a macro of
``macros/source_gates.sql``, severity ``error``, named ``assert_<relation>__<column>__<rule>``
so that a failing build names the relation, the column and the rule. ``dbt build`` runs a
source's or model's tests before anything downstream and skips what depends on a failed one, so
a corrupted load never reaches a feature, a label, a champion or a prediction.

Rules drafted from a profile of the relation (read them, then edit):

- ``schema``: every column, with its type (a renamed or retyped column);
- ``missing_share``: not null where no value is missing, else at most the share seen plus
  ``MISSING_TOLERANCE`` (blank strings count as missing in text columns);
- ``minimum``: no negative values in a numeric column that had none (no upper bound: amounts
  and counts grow);
- ``accepted_values``: the categories of a text column with few distinct values;
- ``unique``: a single id column unique among distinct rows, and a natural key (an id column
  with a timestamp column) where it is unique, so the same event reloaded under a new id fails;
- ``no_empty_day`` / ``no_empty_month``: no day (or month, when some days are empty) without rows
  between the first and the last, for each timestamp column; ``not_after_observed_until``: no
  timestamp after the observed end of the data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

MISSING_TOLERANCE = 0.05
MAX_CATEGORIES = 20
TIME_TYPES = ("TIMESTAMP", "DATE")
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE",
                 "DECIMAL", "REAL", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT")
TEXT_TYPES = ("VARCHAR",)


class GateError(ValueError):
    """A relation cannot be profiled, or its name is not a model or a ``source.table``."""


@dataclass(frozen=True)
class Gate:
    """One drafted gate: the column it watches, its rule, and the macro call that checks it."""

    column: str
    rule: str
    call: str
    why: str


def target(name: str, project: Path) -> tuple[str, str, str]:
    """Return ``(label, dbt relation, DuckDB relation)`` of a model name or ``source.table``.

    A source's schema and table come from the project's sources YAML (``schema``, default the
    source's name; ``identifier``, default the table's name).
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", name):
        raise GateError(f"'{name}' is not a model name or a source.table")
    if "." not in name:
        return name, f"ref('{name}')", f'"{name}"'
    source, table = name.split(".")
    schema, identifier = _source_table(project, source, table)
    return f"{source}__{table}", f"source('{source}', '{table}')", f'"{schema}"."{identifier}"'


def _source_table(project: Path, source: str, table: str) -> tuple[str, str]:
    import yaml

    for path in sorted((project / "models").rglob("*.yml")):
        document = yaml.safe_load(path.read_text()) or {}
        for entry in document.get("sources") or []:
            if entry.get("name") != source:
                continue
            for item in entry.get("tables") or []:
                if item.get("name") == table:
                    return entry.get("schema", source), item.get("identifier", table)
    raise GateError(f"no source table '{source}.{table}' in {project / 'models'}")


def draft(con: duckdb.DuckDBPyConnection, relation: str, dbt_relation: str) -> list[Gate]:
    """Return the gates that the data of ``relation`` (a DuckDB relation) pass today."""
    try:
        columns = con.execute(f"describe select * from {relation}").fetchall()
    except duckdb.Error as error:
        raise GateError(f"cannot read {relation}: {error}; build it first") from error
    types = {name: type_ for name, type_, *_ in columns}
    total = con.execute(f"select count(*) from {relation}").fetchone()[0]
    if total == 0:
        raise GateError(f"{relation} has no rows: gates are drafted from data")
    gates = [Gate("", "schema", f"mlmodels.columns_changed({dbt_relation}, {json.dumps(types)})",
                  f"the {len(types)} columns and their types")]
    for name, type_ in types.items():
        gates += _column_gates(con, relation, dbt_relation, name, type_, total)
    gates += _key_gates(con, relation, dbt_relation, types)
    return gates


def _family(type_: str, families: tuple[str, ...]) -> bool:
    return type_.upper().split("(")[0].split(" ")[0] in families


def _column_gates(con: duckdb.DuckDBPyConnection, relation: str, dbt_relation: str, name: str,
                  type_: str, total: int) -> list[Gate]:
    quoted = '"' + name.replace('"', '""') + '"'
    text = _family(type_, TEXT_TYPES)
    blank = f" or trim({quoted}) = ''" if text else ""
    missing = con.execute(f"select count(*) filter ({quoted} is null{blank}) from {relation}"
                      ).fetchone()[0] / total
    bound = 0 if missing == 0 else round(min(1.0, missing + MISSING_TOLERANCE), 4)
    gates = [Gate(name, "missing_share",
                  f"mlmodels.missing_share_above({dbt_relation}, '{name}', {bound}"
                  f"{', blank_is_missing=true' if text else ''})",
                  "no value missing" if bound == 0 else
                  f"{missing:.2%} missing when drafted; at most {bound:.2%}")]
    if _family(type_, NUMERIC_TYPES):
        low = con.execute(f"select min({quoted}) from {relation}").fetchone()[0]
        if low is not None and low >= 0:
            gates.append(Gate(name, "minimum", f"mlmodels.values_below({dbt_relation}, '{name}', 0)",
                              f"no negative value (the minimum was {low})"))
    elif text and not _is_id(name):
        values = [row[0] for row in con.execute(
            f"select distinct {quoted} from {relation} where {quoted} is not null order by 1 "
            f"limit {MAX_CATEGORIES + 1}").fetchall()]
        if values and len(values) <= MAX_CATEGORIES and total >= 10 * len(values):
            gates.append(Gate(name, "accepted_values",
                              f"mlmodels.unexpected_values({dbt_relation}, '{name}', "
                              f"{json.dumps(values)})", f"the {len(values)} categories seen"))
    elif _family(type_, TIME_TYPES):
        gates += _time_gates(con, relation, dbt_relation, name, quoted)
    return gates


def _time_gates(con: duckdb.DuckDBPyConnection, relation: str, dbt_relation: str, name: str,
                quoted: str) -> list[Gate]:
    gates = [Gate(name, "not_after_observed_until",
                  f"mlmodels.future_events({dbt_relation}, '{name}')",
                  "no timestamp after the observed end of the data")]
    for period in ("day", "month"):
        span, present = con.execute(
            f"select date_diff('{period}', min({quoted}), max({quoted})) + 1, "
            f"count(distinct date_trunc('{period}', {quoted})) from {relation}").fetchone()
        if span and span > 1 and present == span:
            gates.append(Gate(name, f"no_empty_{period}",
                              f"mlmodels.empty_periods({dbt_relation}, '{name}', '{period}')",
                              f"every {period} of the {span} from the first to the last has rows"))
            break
    return gates


def _is_id(name: str) -> bool:
    return name.lower() == "id" or name.lower().endswith("_id")


def _key_gates(con: duckdb.DuckDBPyConnection, relation: str, dbt_relation: str,
               types: dict[str, str]) -> list[Gate]:
    ids = [name for name in types if _is_id(name)]
    times = [name for name, type_ in types.items() if _family(type_, TIME_TYPES)]
    candidates = [[name] for name in ids] + [[i, t] for i in ids for t in times]
    distinct = f"(select distinct * from {relation})"
    rows = con.execute(f"select count(*) from {distinct}").fetchone()[0]
    gates, unique_singles = [], set()
    for key in candidates:
        if any(column in unique_singles for column in key):
            continue  # a key that contains a unique column is unique: it adds nothing
        listed = ", ".join('"' + column.replace('"', '""') + '"' for column in key)
        keys = con.execute(f"select count(*) from (select distinct {listed} from {distinct})"
                       ).fetchone()[0]
        if keys == rows:
            if len(key) == 1:
                unique_singles.add(key[0])
            gates.append(Gate(", ".join(key), "unique",
                              f"mlmodels.duplicate_keys({dbt_relation}, {json.dumps(key)})",
                              "one distinct row per " + " and ".join(key)))
    return gates


def test_files(label: str, gates: list[Gate], drafted_from: str) -> dict[str, str]:
    """Return each gate's singular test: ``{relative path: text}``."""
    files = {}
    for gate in gates:
        column = re.sub(r"[^A-Za-z0-9_]+", "_", gate.column).strip("_")
        stem = "__".join(part for part in (f"assert_{label}", column, gate.rule) if part)
        files[f"tests/mlmodels/gates/{label}/{stem}.sql"] = (
            f"-- drafted by `mlmodels draft-gates` from {drafted_from}: {gate.why}.\n"
            "-- Read it and edit it: it fails the build (and skips everything downstream).\n"
            "{{ config(severity='error') }}\n"
            f"{{{{ {gate.call} }}}}\n")
    return files


def write(project: Path, db: Path, name: str, force: bool = False) -> list[Path]:
    """Draft the gates of ``name`` (a model or ``source.table``) and write them into ``project``.

    Existing gate files are kept unless ``force``. Returns the paths written.
    """
    label, dbt_relation, relation = target(name, project)
    with duckdb.connect(str(db), read_only=True) as con:
        gates = draft(con, relation, dbt_relation)
        rows = con.execute(f"select count(*) from {relation}").fetchone()[0]
    written = []
    for path, text in test_files(label, gates, f"{rows} rows of {name}").items():
        file = project / path
        if file.exists() and not force:
            continue
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)
        written.append(file)
    return written

