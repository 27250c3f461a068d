"""The ``mlmodels`` command: demo data and a summary of what a build produced."""

from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb

from mlmodels import demo, scaffold, sql

DISTRIBUTION_CHECKS = {"expect_column_mean_to_be_between",
                       "expect_column_quantile_values_to_be_between"}
SHARED_TABLES = ("ml_model_registry", "ml_evaluation__metrics")
MODEL_TABLES = ("training_set", "predictions", "feature_drift", "realised_performance",
                "retrain_signal")


def _project_default() -> Path:
    """Return the dbt project of every command: ``DBT_PROJECT_DIR``, else the current folder."""
    return Path(os.environ.get("DBT_PROJECT_DIR") or ".")


def _add_project(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", type=Path, default=_project_default(),
                        help="the dbt project folder (default: $DBT_PROJECT_DIR, else the "
                             "current folder)")


def _add_db(parser: argparse.ArgumentParser, what: str) -> None:
    default = os.environ.get("DUCKDB_PATH")
    parser.add_argument("--db", type=Path, default=Path(default) if default else None,
                        required=default is None,
                        help=f"{what} (default: $DUCKDB_PATH, which the profile reads too)")


def _add_warehouse(parser: argparse.ArgumentParser) -> None:
    """``--db`` (a DuckDB file) or ``--tables`` (the Parquet tables of a Spark build)."""
    default = os.environ.get("DUCKDB_PATH")
    where = parser.add_mutually_exclusive_group(required=default is None)
    where.add_argument("--db", type=Path, default=Path(default) if default else None,
                       help="the DuckDB file dbt built (default: $DUCKDB_PATH, which the profile "
                            "reads too)")
    where.add_argument("--tables", type=Path, default=None,
                       help="instead of a DuckDB file, the folder of Parquet tables a Spark build "
                            "wrote, one subfolder per table (the schema's folder of the "
                            "warehouse, e.g. warehouse/spark/tables/analytics.db)")


class WarehouseMissing(Exception):
    """Nothing to read where the command was pointed."""


@contextmanager
def _warehouse(db: Path | None, tables: Path | None) -> Iterator[
        tuple[duckdb.DuckDBPyConnection, str]]:
    """Open what a build wrote, read-only: a DuckDB file, or Parquet tables as DuckDB views.

    Yields the connection and a line saying what was opened.
    """
    if tables is None:
        if db is None or not db.is_file():
            raise WarehouseMissing(f"no DuckDB file at {Path(db or '.').resolve()}: run "
                                   "`make demo` first")
        with duckdb.connect(str(db), read_only=True) as con:
            yield con, f"DuckDB file: {db.resolve()}"
        return
    folders = [f for f in sorted(tables.iterdir()) if f.is_dir()] if tables.is_dir() else []
    # A table's files (Spark writes part-*.parquet, partitions as key=value folders); a
    # folder without any is a table with no rows yet, or not a table.
    folders = [f for f in folders if next(f.rglob("*.parquet"), None) is not None]
    if not folders:
        raise WarehouseMissing(f"no Parquet tables in {tables.resolve()}: run `make demo-spark` "
                               "first (the folder is the warehouse's schema folder, "
                               "<SPARK_WAREHOUSE>/analytics.db)")
    with duckdb.connect() as con:
        for folder in folders:
            files = sql.literal(str(folder / "**" / "*.parquet"))
            con.execute(f"create view {sql.quote(folder.name)} as select * from "
                        f"read_parquet({files}, hive_partitioning = true)")
        yield con, f"Parquet tables: {tables.resolve()}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mlmodels`` command line; see ``mlmodels --help``."""
    import mlmodels

    parser = argparse.ArgumentParser(prog="mlmodels", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mlmodels {mlmodels.__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser(
        "generate-demo", help="write the demo world's raw tables (schema raw) into a DuckDB file"
    )
    generate.add_argument("--db", required=True, type=Path, help="the DuckDB file to write")
    generate.add_argument("--customers", type=int, default=5000, help="number of customers")
    generate.add_argument("--seed", type=int, default=42, help="random seed")
    generate.add_argument(
        "--spark-warehouse", type=Path, default=None,
        help="also copy the raw tables into this local Spark warehouse folder (Parquet tables "
             "raw.*, Derby metastore inside it), for the profile's spark target")

    summary = commands.add_parser("summary", help="print where the main tables are and their sizes")
    _add_warehouse(summary)

    init = commands.add_parser(
        "init", help="adopt mlmodels in an existing dbt project (package, vars, selectors, "
                     "folders)")
    _add_project(init)

    new = commands.add_parser(
        "new", help="write an ML model's dbt files from its spec (<project>/ml/<name>.yml)"
    )
    new.add_argument("name", help="the spec's name (ml/<name>.yml)")
    _add_project(new)
    new.add_argument("--force", action="store_true", help="overwrite the model's existing files")
    new.add_argument("--check", action="store_true",
                     help="only check that the files are what the spec gives; exit 1 if not")

    draft = commands.add_parser(
        "draft-suite",
        help="draft the Great Expectations suites of a model's gates from its train split",
    )
    draft.add_argument("name", help="the spec's name (ml/<name>.yml)")
    _add_db(draft, "the DuckDB file dbt built")
    _add_project(draft)
    draft.add_argument("--expectations", type=Path, default=None,
                       help="the suites' folder (default: the project's expectations/ if it has "
                            "one, else expectations/ beside the project)")
    draft.add_argument("--force", action="store_true", help="overwrite existing suites")

    gates = commands.add_parser(
        "draft-gates",
        help="draft the source-level gates (dbt tests, severity error) of a raw table or staging "
             "model from its data",
    )
    gates.add_argument("relation", help="a model name, or source.table (as in source('a', 'b'))")
    _add_db(gates, "the DuckDB file that holds the relation")
    _add_project(gates)
    gates.add_argument("--force", action="store_true", help="overwrite existing gate files")

    report = commands.add_parser(
        "report", help="write a model version's HTML report (evaluation, drift, monitoring)"
    )
    report.add_argument("model", help="the model's name (ml_model_registry.model_name)")
    _add_warehouse(report)
    _add_project(report)
    report.add_argument("--version", dest="model_version",
                        help="the model version (default: the champion, else the version "
                             "trained last)")
    report.add_argument("--out", type=Path, default=None,
                        help="the reports' folder (default: <project>/target/model_reports)")
    report.add_argument("--as-of-column", default=None,
                        help="the monitoring tables' date column (default: the spec's as_of, "
                             "snapshot_date for a snapshot spec)")

    commands.add_parser(
        "spec-schema", help="print the JSON Schema of a spec file, for editors (e.g. "
                            "mlmodels spec-schema > ml/spec.schema.json)")

    args = parser.parse_args(argv)
    if args.command == "spec-schema":
        return _spec_schema()
    if args.command == "draft-suite":
        folder = args.expectations or args.project / scaffold.suites_folder(args.project)
        return _draft_suites(args.name, args.db, args.project, folder, args.force)
    if args.command == "draft-gates":
        return _draft_gates(args.relation, args.db, args.project, args.force)
    if args.command == "init":
        return _init(args.project)
    if args.command == "generate-demo":
        return _generate_demo(args.db, args.customers, args.seed, args.spark_warehouse)
    if args.command == "new":
        return _new(args.project, args.name, args.force, args.check)
    if args.command == "report":
        out = args.out or args.project / "target" / "model_reports"
        column = args.as_of_column or _date_column(args.project, args.model)
        return _report(args.model, args.db, args.tables, args.model_version, out, column)
    return _summary(args.db, args.tables)


def _spec_schema() -> int:
    """Print the JSON Schema of ``ml/<name>.yml`` (the one committed as docs/spec.schema.json)."""
    from mlmodels.spec import schema

    sys.stdout.write(schema.json_schema_text())
    return 0


def _date_column(project: Path, model: str) -> str:
    """Return the monitoring tables' date column of a model: its spec's as_of, or snapshot_date."""
    from mlmodels.spec import specs

    path = project / "ml" / f"{model}.yml"
    return specs.load(path).score_column if path.is_file() else "as_of_date"


def _draft_suites(name: str, db: Path, project: Path, folder: Path, force: bool) -> int:
    from mlmodels.quality import profiling
    from mlmodels.spec import specs

    spec = specs.load(project / "ml" / f"{name}.yml")
    if not db.is_file():
        print(f"mlmodels draft-suite: no DuckDB file at {db.resolve()}; build the training set "
              f"first: dbt build --select +{spec.training_set}", file=sys.stderr)
        return 2
    with duckdb.connect(str(db), read_only=True) as con:
        training_set = con.table(spec.training_set)
        spec = spec.resolve(training_set.columns)
        if spec.is_snapshot:
            return _draft_snapshot_suite(spec, training_set, folder, force)
        train = training_set.filter(f"{spec.split_column} = 'train'")
        window = train.aggregate(f"min({spec.as_of}), max({spec.as_of})").fetchall()[0]
        for gate, path in _suites_to_draft(spec, folder, force):
            is_training_set = gate == spec.training_set
            rows = train.df() if is_training_set else con.table(gate).filter(
                f"{spec.as_of} between '{window[0]}' and '{window[1]}'").df()
            suite = profiling.draft_suite(spec, rows, partition_column=spec.as_of,
                                          label=is_training_set)
            suite["name"] = gate
            # Distribution checks run per partition and cost the most: keep them to the tier-1
            # features (or the label) so the gate stays a small share of the build.
            watched = set(spec.tier1) | {spec.target}
            suite["expectations"] = [
                e for e in suite["expectations"]
                if e["type"] not in DISTRIBUTION_CHECKS or e["kwargs"].get("column") in watched
            ]
            suite["meta"]["drafted_from"] = (
                f"{gate} rows of the train window {window[0]}..{window[1]} of {spec.training_set}")
            suite["meta"]["cadence"] = _cadence(train, spec.as_of)
            if is_training_set:
                # Labels exist on mature rows only; score rows are checked by the mart's gate.
                suite["meta"]["row_filter"] = "is_label_mature"
            _write_suite(path, suite, f"the train split {window[0]}..{window[1]}")
    return 0


def _draft_gates(relation: str, db: Path, project: Path, force: bool) -> int:
    from mlmodels.quality import source_gates

    try:
        written = source_gates.write(project, db, relation, force=force)
    except source_gates.GateError as error:
        print(f"mlmodels draft-gates: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"drafted {path}")
    print(f"{len(written)} gates of {relation} drafted (existing ones kept unless --force); read "
          "them and edit before relying on them: each fails the build, severity error")
    return 0


def _draft_snapshot_suite(spec, training_set, folder: Path, force: bool) -> int:
    """Draft the suites of a snapshot model's gates from its labelled rows (no partitions)."""
    from mlmodels.quality import profiling

    for gate, path in _suites_to_draft(spec, folder, force):
        is_training_set = gate == spec.training_set
        if not is_training_set:
            print(f"skipped {path}: a snapshot model's gates are its training set's")
            continue
        rows = training_set.filter(f"{spec.target} is not null").df()
        suite = profiling.draft_suite(spec, rows, partition_column=None, label=is_training_set)
        suite["name"] = gate
        # The label is null on the rows to score, which this suite validates too.
        suite["expectations"] = [e for e in suite["expectations"] if not (
            e["type"] == "expect_column_values_to_not_be_null"
            and e["kwargs"].get("column") == spec.target)]
        suite["meta"]["drafted_from"] = f"the {len(rows)} labelled rows of {spec.training_set}"
        _write_suite(path, suite, f"the {len(rows)} labelled rows")
    return 0


def _suites_to_draft(spec, folder: Path, force: bool) -> list[tuple[str, Path]]:
    """Return each gate and its suite's path, but those kept (they exist and not --force)."""
    todo = []
    for gate in spec.gates:
        path = folder / f"{gate}.json"
        if path.exists() and not force:
            print(f"kept {path} (it exists; --force drafts it again)")
        else:
            todo.append((gate, path))
    return todo


def _write_suite(path: Path, suite: dict, source: str) -> None:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(suite, indent=2) + "\n")
    print(f"drafted {path} ({len(suite['expectations'])} expectations) from {source}; read it "
          "and edit before relying on it")


def _cadence(relation, column: str) -> str:
    """Guess the as_of cadence from the median gap between distinct dates (day, week, month)."""
    dates = sorted(row[0] for row in relation.project(column).distinct().fetchall())
    gaps = sorted((b - a).days for a, b in itertools.pairwise(dates))
    median = gaps[len(gaps) // 2] if gaps else 30
    return "day" if median <= 1 else "week" if median <= 7 else "month"


def _init(project: Path) -> int:
    try:
        done = scaffold.init(project)
    except scaffold.ScaffoldError as error:
        print(f"mlmodels init: {error}", file=sys.stderr)
        return 2
    for line in done or ["nothing to do: the project has adopted mlmodels already"]:
        print(line)
    print("next: `dbt deps`, then write ml/<name>.yml and run `mlmodels new <name>`")
    return 0


def _new(project: Path, name: str, force: bool, check: bool) -> int:
    try:
        if check:
            stale = scaffold.check(project, name)
            for path in stale:
                print(f"out of date: {path}", file=sys.stderr)
            if stale:
                print(f"run: mlmodels new {name} --force", file=sys.stderr)
            return 1 if stale else 0
        written = scaffold.write(project, name, force=force)
    except scaffold.ScaffoldError as error:
        print(f"mlmodels new: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    spec = scaffold._spec(project, name)
    if spec.label is None and spec.snapshot.mart is None:
        print(f"note: the spec names no label (time-indexed) or snapshot.mart (snapshot), so the "
              f"training set '{spec.training_set}' is yours to write: it needs "
              f"{spec.entity_key}, {spec.target}"
              + (f", {spec.as_of}, split (train / valid / test / embargo / score)"
                 if spec.as_of else " (null on the rows to score)")
              + " and the features (docs/specs.md)")
    print(f"model '{name}' is listed in vars.ml_models; run `dbt build --select +ml_{name}__train+`")
    return 0


def _generate_demo(path: Path, customers: int, seed: int, spark_warehouse: Path | None) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with duckdb.connect(str(path)) as con:
        counts = demo.generate(con, customers=customers, seed=seed)
    elapsed = time.perf_counter() - started
    sizes = ", ".join(f"raw.{table}: {rows:,} rows" for table, rows in counts.items())
    print(f"demo data written to {path.resolve()} in {elapsed:.1f} s ({sizes})")
    if spark_warehouse is not None:
        started = time.perf_counter()
        demo.copy_to_spark(path, spark_warehouse)
        print(f"raw tables copied to the Spark warehouse {spark_warehouse.resolve()} in "
              f"{time.perf_counter() - started:.1f} s")
    return 0


def _report(model: str, db: Path | None, tables: Path | None, version: str | None, out: Path,
            as_of_column: str) -> int:
    from mlmodels.reports import model_page

    try:
        with _warehouse(db, tables) as (con, _):
            path = model_page.write_model_report(
                con, model, out, version=version, as_of_column=as_of_column)
    except WarehouseMissing as error:
        print(error, file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"mlmodels report: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def _print_latest_signal(con: duckdb.DuckDBPyConnection, name: str, table: str) -> None:
    """Print the latest row of a model's retrain signal: the verdict and its reasons."""
    columns = [row[0] for row in con.sql(f"describe {table}").fetchall()]
    as_of = next((c for c in columns if c not in {"model_name", "model_version"}), None)
    latest = con.sql(f"select {as_of}, retrain_recommended, reasons from {table} "
                     f"order by {as_of} desc limit 1").fetchall()
    if latest:
        when, recommended, reasons = latest[0]
        verdict = f"retrain recommended: {reasons}" if recommended else "no retrain needed"
        print(f"    monitoring of {name} at {when}: {verdict}")


def _summary(db: Path | None, tables: Path | None) -> int:
    try:
        with _warehouse(db, tables) as (con, opened):
            _print_summary(con, opened)
    except WarehouseMissing as error:
        print(error, file=sys.stderr)
        return 1
    if tables is None:
        print(f"Open it with: duckdb -readonly {db.resolve()}  (or python: duckdb.connect(..., "
              "read_only=True))")
    return 0


def _print_summary(con: duckdb.DuckDBPyConnection, opened: str) -> None:
    """Print the main tables' sizes, each model version's test score and latest signal."""
    existing = {row[0] for row in con.sql(
        "select table_name from information_schema.tables").fetchall()}
    print(opened)
    models = sorted(row[0] for row in con.sql(
        "select distinct model_name from ml_model_registry").fetchall()
    ) if "ml_model_registry" in existing else []
    marts = sorted(t for t in existing if t.startswith("feat_"))
    main = [*marts, *SHARED_TABLES, *(f"ml_{m}__{t}" for m in models for t in MODEL_TABLES)]
    for table in main:
        if table in existing:
            rows = con.sql(f"select count(*) from {table}").fetchall()[0][0]
            print(f"  {table:<28} {rows:>10,} rows" if rows != 1 else f"  {table:<28} {rows:>10,} row")
        else:
            print(f"  {table:<28} (not built)")
    if "ml_model_registry" in existing:
        for name, version, status, metric, score, prior, rule in con.sql(
            "select model_name, model_version, status, selection_metric, test_score, "
            "baseline_prior_test_score, baseline_rule_test_score "
            "from ml_model_registry order by model_name, trained_at"
        ).fetchall():
            rule_text = "no rule" if rule is None or math.isnan(rule) else f"rule {rule:.3f}"
            print(f"  model {name} {version} [{status}]: test {metric} {score:.3f} "
                  f"(prior {prior:.3f}, {rule_text})")
            signal = f"ml_{name}__retrain_signal"
            if status == "champion" and signal in existing:
                _print_latest_signal(con, name, signal)


if __name__ == "__main__":
    sys.exit(main())
