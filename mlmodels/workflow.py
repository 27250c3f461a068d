"""The entry points dbt Python models call: each one line of a model file.

A model passes its relations (``dbt.ref``: DuckDB relations on dbt-duckdb, DataFrames on
dbt-spark; see :mod:`mlmodels.engine`) and its ``meta`` config: ``spec`` (the spec file),
``store`` (the registry and artifact store's folder) and, for training, ``pin`` (a version to
pin as champion, from the ``champion_pins`` var).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from mlmodels.engine import Table, add_missing_columns, read_table, table
from mlmodels.files import write_atomic
from mlmodels.learn import training
from mlmodels.serve import mirror, promotion, scoring
from mlmodels.spec import spec_table, specs

LOG = logging.getLogger(__name__)
CADENCES = {"day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1),
            "month": pd.DateOffset(months=1)}


def without(rows: Any, quarantined: list[Any] | None, spec: specs.ModelSpec) -> Table:
    """Return the rows minus those the gates quarantined (matched on entity and as_of)."""
    keys = [spec.entity_key, *([spec.as_of] if spec.as_of else [])]
    rows = table(rows)
    for held in quarantined or []:
        rows = rows.anti_join(table(held), keys)
    return rows


def train(
    training_set: Any, meta: dict[str, Any], quarantined: list[Any] | None = None,
    signal: Any = None, gates: list[Any] | None = None,
) -> pd.DataFrame:
    """Train (or find unchanged) a version of the spec's model; return its registry rows.

    Parameters
    ----------
    training_set
        The model's training set relation.
    meta
        ``spec``, ``store`` and optionally ``pin``.
    quarantined
        Rows the gates quarantined (not trained on), or None.
    signal
        The model's retrain signal table from the previous build (see :func:`mlmodels.engine.read_table`),
        or None. Only a spec with ``monitoring.retrain_on_signal`` reads it.
    gates
        The gates this model waits for (the train model's ``gates`` list), or None. Their
        failed warn-level expectations reach the promotion guard (see
        :func:`mlmodels.promotion.new_warnings`).

    Returns
    -------
    pandas.DataFrame
        Every registered version of the model, with its status.
    """
    spec = specs.load(meta["spec"])
    rows = training.rows_with_rule(without(training_set, quarantined, spec), spec)
    latest = None
    if signal is not None and spec.as_of:
        found = table(signal).order(f"{spec.as_of} desc").limit(1).df().to_dict(
            orient="records")
        latest = found[0] if found else None
    return promotion.train_and_register(rows, spec, meta["store"], meta.get("pin") or None,
                                        latest, warnings=failed_warnings(gates))


def train_node(dbt: Any, session: Any, meta: dict[str, Any], training_set: Any,
               gates: list[Any], quarantined: list[Any] | None = None) -> pd.DataFrame:
    """Run :func:`train` as the body of a generated ``ml_<name>__train`` model.

    Parameters
    ----------
    dbt, session
        The Python model's arguments (for ``dbt.this``).
    meta
        ``dbt.config.meta_get("mlmodels")``, called in the model file: dbt gives a Python model
        only the config values its file asks for by name.
    training_set, gates, quarantined
        The refs of the model file: dbt orders the build by them, so they stay in the file.
    """
    # The retrain signal of the previous build: read, not ref'd (it is downstream).
    signal = read_table(session, dbt.this, f"ml_{Path(meta['spec']).stem}__retrain_signal")
    return train(training_set, meta, quarantined=quarantined, signal=signal, gates=gates)


def score_node(dbt: Any, session: Any, meta: dict[str, Any], training_set: Any, registered: Any,
               gates: list[Any], quarantined: list[Any] | None = None) -> pa.RecordBatchReader:
    """Run :func:`score` as the body of a generated ``ml_<name>__scores`` model.

    ``gates`` are only waited for (a failed gate skips this model); what earlier runs scored is
    read from the incremental table itself, so a backfill scores only the missing as_ofs.
    """
    del gates  # refs that order the build; scoring reads nothing of them
    held = None
    if dbt.is_incremental:
        added = add_missing_columns(session, dbt.this, scoring.EXPLANATION_FIELDS)
        if added:
            LOG.info("%s: added the columns %s (written by this mlmodels, not by the one that "
                     "created the table); the rows already held have them null",
                     dbt.this, ", ".join(added))
        held = session.sql(f"select * from {dbt.this}")
    return score(training_set, registered, meta, quarantined=quarantined, already_scored=held)


def failed_warnings(gates: list[Any] | None) -> pd.DataFrame | None:
    """Return the failed warn-level expectations of the gates' results (one frame), or None.

    Gate results are the tables of :func:`gate`; other relations in the list (the preflight)
    are left out.
    """
    found = []
    for relation in map(table, gates or []):
        if {"expectation", "success", "severity", "as_of"} <= set(relation.columns):
            found.append(relation.filter("not success and severity = 'warn'")
                         .project("expectation, column_name, as_of").df())
    return pd.concat(found, ignore_index=True) if found else None


def preflight(training_set: Any, meta: dict[str, Any]) -> pd.DataFrame:
    """Run the checks that take seconds before the gates and training take minutes.

    Parameters
    ----------
    training_set
        The model's training set relation.
    meta
        ``spec``.

    Returns
    -------
    pandas.DataFrame
        One row per check: ``model_name``, ``check_name``, ``passed``, ``detail``.

    Raises
    ------
    mlmodels.checks.PreflightError
        Naming the spec, the field or column, and the fix, on the first failed check.
    """
    from mlmodels import checks

    spec = specs.load(meta["spec"])
    return pd.DataFrame(checks.preflight(training_set, spec))


def score(
    training_set: Any, registered: Any, meta: dict[str, Any],
    quarantined: list[Any] | None = None, already_scored: Any = None,
) -> pa.RecordBatchReader:
    """Score one as_of of the ``score`` split with the champion and the challengers (role challenger).

    The as_of is ``meta["as_of"]`` (the ``score_as_of`` var) or, by default, the latest as_of of
    the score split. With the spec's ``monitoring.backfill`` (the default), every as_of after the
    champion's training window that the scores table does not hold yet is scored too, flagged
    ``backfill``: drift and realised performance then have history from the first build, and
    as_ofs already scored keep what was predicted at the time. No version scores an as_of inside
    its own training window. Rows are streamed in Arrow record batches, so memory stays bounded.

    Parameters
    ----------
    training_set
        The model's training set relation.
    registered
        The model's registry rows (``ml_<name>__train``), where the champion is looked up.
    meta
        ``spec``, ``store`` and optionally ``as_of``.
    quarantined
        Rows the gates quarantined (not scored), or None.
    already_scored
        The scores table as it is before this run (an incremental run), or None (the first run).

    Returns
    -------
    pyarrow.RecordBatchReader
        The scores (``mlmodels.scoring.output_schema``); no rows when the model has no champion.

    Raises
    ------
    LookupError
        If the as_of has no rows in the score split.
    """
    spec = specs.load(meta["spec"])
    rows = without(training_set, quarantined, spec)
    if spec.is_snapshot:
        return score_snapshot(rows, registered, spec, meta)
    dates = as_of_dates(rows.filter(f"{spec.split_column} = 'score'"), spec.as_of)
    as_of = meta.get("as_of") or (dates[-1] if dates else None)
    if as_of not in dates:
        raise LookupError(
            f"model '{spec.name}': no rows to score at {spec.as_of} {as_of!r}; the score split "
            f"holds {dates or 'no rows'}"
        )
    registry_rows = table(registered).df()
    if not has_champion(registry_rows, spec):
        return no_scores(rows, spec)
    scorers = scoring.registered_scorers(registry_rows, spec)
    wanted = {as_of}
    champion = scorers[0]
    if spec.monitoring.backfill and champion.trained_through is not None:
        held = set(as_of_dates(already_scored, spec.as_of)) if already_scored is not None else set()
        after = rows.filter(f"{spec.as_of} > date '{champion.trained_through.date()}'")
        wanted |= set(as_of_dates(after, spec.as_of)) - held
    low, high = meta.get("rescore_from"), meta.get("rescore_to")
    if low and high:
        # Rescore after a data fix: every as_of of the range again (replacing what was written);
        # the rescore_cleanup post-hook removes the range's rows this run did not write.
        wanted |= {d for d in as_of_dates(rows, spec.as_of) if str(low) <= d <= str(high)}
    listed = ", ".join(f"date '{d}'" for d in sorted(wanted))
    # Ordered by entity too: a mart rebuilt by parallel SQL holds an as_of's rows in another
    # order each time, and a row's place in its batch must not change what it is predicted.
    rows = rows.filter(f"{spec.as_of} in ({listed})").order(f"{spec.as_of}, {spec.entity_key}")
    return score_rows(rows, scorers, spec, live_as_of=as_of)


def score_rows(rows: Table, scorers: list[scoring.Scorer], spec: specs.ModelSpec,
               live_as_of: Any = None) -> Any:
    """Score ``rows`` with every scorer, batch by batch, where the engine keeps the rows.

    On DuckDB the batches stream through this process; on Spark the scorers run on the workers
    (see :meth:`mlmodels.engine.Table.map_batches`), each artifact verified again there.
    """
    from datetime import UTC, datetime

    schema = scoring.output_schema(spec, rows.arrow_schema())
    scored_at = datetime.now(UTC).replace(tzinfo=None)
    return rows.map_batches(
        lambda batches: scoring.score_registered(scorers, batches, spec, live_as_of=live_as_of,
                                                 scored_at=scored_at),
        schema, scoring.BATCH_ROWS)


def has_champion(registry_rows: pd.DataFrame, spec: specs.ModelSpec) -> bool:
    """Return whether the model has a champion; warn when it has none.

    A model whose versions were all rejected is a result, not a failure: its scores (and so its
    predictions and monitoring) stay empty, the has_champion test warns, and the other models of
    the build go on.
    """
    if (registry_rows["status"] == "champion").any():
        return True
    LOG.warning("model %s has no champion: nothing is scored (see ml_model_registry's status "
                "and reason)", spec.name)
    return False


def no_scores(rows: Table, spec: specs.ModelSpec) -> Any:
    """Return no scores, with the scores table's columns."""
    schema = scoring.output_schema(spec, rows.arrow_schema())
    return rows.limit(0).map_batches(lambda _: pa.RecordBatchReader.from_batches(schema, []),
                                     schema)


def score_snapshot(
    rows: Any, registered: Any, spec: specs.ModelSpec, meta: dict[str, Any]
) -> pa.RecordBatchReader:
    """Score a snapshot model's rows to score, stamped with the snapshot date.

    The rows to score are those marked ``is_scored`` (the generated training set marks rows whose
    target is null, or that match ``snapshot.score_where``) or, in a training set without that
    column, the rows whose target is null or that match ``snapshot.score_where``. The date is
    ``meta["snapshot_date"]`` (the ``snapshot_date`` var, default the build's day); rows that
    carry a ``snapshot_date`` column of their own are scored at that date. The scores table is
    incremental by snapshot date: scoring a date again replaces its rows.
    """
    day = snapshot_day(meta.get("snapshot_date"), spec)
    column = specs.SNAPSHOT_DATE
    if column in rows.columns:
        rows = rows.filter(f"{column} = date '{day}'")
    else:
        rows = rows.project(f"*, date '{day}' as {column}")
    if "is_scored" in rows.columns:
        rows = rows.filter("is_scored")
    else:
        where = f"{spec.target} is null"
        if spec.snapshot.score_where:
            where += f" or ({spec.snapshot.score_where})"
        rows = rows.filter(where)
    registry_rows = table(registered).df()
    if not has_champion(registry_rows, spec):
        return no_scores(rows, spec)
    return score_rows(rows, scoring.registered_scorers(registry_rows, spec), spec)


def snapshot_day(value: Any, spec: specs.ModelSpec) -> str:
    """Return the snapshot date as ``YYYY-MM-DD``: the given one, or today's (UTC)."""
    from datetime import UTC, datetime

    if not value:
        return datetime.now(UTC).date().isoformat()
    try:
        return pd.Timestamp(str(value)).date().isoformat()
    except ValueError as error:
        raise ValueError(f"model '{spec.name}': var snapshot_date must be a date "
                         f"(YYYY-MM-DD), got {value!r}") from error


def as_of_dates(relation: Any, column: str) -> list[str]:
    """Return the distinct dates of a relation's as_of column, sorted, as ``YYYY-MM-DD``."""
    return sorted(str(value)[:10] for value in table(relation).distinct_values(column))


def evaluation(registry_table: Any, name: str) -> pd.DataFrame:
    """Return one evaluation table (see ``mirror.EVALUATION_TABLES``) of every version."""
    return mirror.evaluation_table(table(registry_table).df(), name)


def status_history(registry_table: Any, meta: dict[str, Any]) -> pd.DataFrame:
    """Return every status change of every registered model."""
    names = table(registry_table).distinct_values("model_name")
    return mirror.status_history(meta["store"], names)


def reference_bins(registry_table: Any) -> pd.DataFrame:
    """Return the reference bins of every registered version."""
    return mirror.reference_bins(table(registry_table).df())


def gate(relation: Any, meta: dict[str, Any]) -> pd.DataFrame:
    """Validate a mart against its suite, one partition at a time, and write the HTML report.

    Parameters
    ----------
    relation
        The gated mart.
    meta
        ``suite`` (the suite's JSON file), ``report_dir`` (where the HTML page goes, and
        ``.gx_memo/``: GX's answers that a rebuild of the same suite and schema reuses instead
        of importing GX) and ``quarantine`` (true: failed row-level expectations are
        quarantined, not errors).

    Returns
    -------
    pandas.DataFrame
        One row per expectation per partition (``mlmodels.quality.RESULT_COLUMNS``, with
        ``column`` as ``column_name`` and ``partition`` as ``as_of``). The ``dq_gate_passes``
        test fails the build on unsuccessful rows of severity error.
    """
    from mlmodels.quality import validation
    from mlmodels.quality.gx_memo import GxMemo
    from mlmodels.reports import quality_page

    relation = table(relation)
    # GX's answers that depend only on the suite and the mart's dtypes, kept beside the report:
    # a rebuild with the same suite need not import GX (see mlmodels.quality.gx_memo).
    memo = GxMemo.for_suite(Path(meta["report_dir"]) / ".gx_memo", meta["suite"])
    suite = validation.load_suite(meta["suite"], memo)
    column, row_filter = suite.meta.get("partition_column"), suite.meta.get("row_filter")
    if column:
        expected = expected_partitions(relation, column, suite.meta.get("cadence"), row_filter)
        results = validation.validate_chunked(relation, suite, column, expected, row_filter,
                                              memo=memo)
    else:
        rows = relation.filter(row_filter) if row_filter else relation
        results = validation.validate_table(rows, suite, memo=memo)
    memo.save()
    if meta.get("quarantine"):
        row_level = (results.expectation.isin(validation.ROW_LEVEL) & ~results.success.astype(bool)
                     & (results.severity == "error"))
        results.loc[row_level, "severity"] = "quarantine"
    quality_page.write_report(results, Path(meta["report_dir"]) / f"{suite.name}.html",
                        title=f"Data quality: {suite.name}")
    # Warehouse-friendly names: "column" and "partition" are SQL keywords.
    return results.rename(columns={"column": "column_name", "partition": "as_of"})


def expected_partitions(
    relation: Any, column: str, cadence: str | None, row_filter: str | None
) -> list[Any] | None:
    """Return every partition between the first and last present, at the suite's cadence.

    A partition missing in between is then validated as empty, and its row-count expectation
    fails: an empty as_of partition cannot pass silently.
    """
    if cadence is None:
        return None
    if cadence not in CADENCES:
        raise ValueError(f"suite meta cadence must be one of {sorted(CADENCES)}, got {cadence!r}")
    rows = table(relation)
    rows = rows.filter(row_filter) if row_filter else rows
    low, high = rows.aggregate(f"min({rows.quote(column)}), max({rows.quote(column)})"
                               ).fetchall()[0]
    if low is None:
        return []
    # first + k steps, as the as_of_dates macro counts them (not month starts: as_of_start may be
    # any day, and Jan 31 + 2 months is Mar 31, not Feb 28 + 1 month).
    first, last, dates = pd.Timestamp(low), pd.Timestamp(high), []
    while (step := first + CADENCES[cadence] * len(dates)) <= last:
        dates.append(step.date())
    return dates


def quarantined(relation: Any, meta: dict[str, Any], specs: Any = None) -> pd.DataFrame:
    """Return the rows of a mart that fail its suite's row-level expectations, with the reason.

    The rows are keyed by the mart's keys (:func:`mlmodels.spec.spec_table.mart_keys`, from ``specs``, the
    ``ml_model_specs`` table; or ``meta["keys"]``, as files generated before it gave them).
    """
    from mlmodels.quality import validation

    relation = table(relation)
    suite = validation.load_suite(meta["suite"])
    row_filter = suite.meta.get("row_filter")
    rows = (relation.filter(row_filter) if row_filter else relation).df()
    _, bad = validation.quarantine(rows, suite)
    keys, _ = spec_table.mart_keys(_frame(specs), meta.get("mart"), meta)
    keys = [c for c in keys if c in bad.columns]
    return bad[[*keys, "quarantine_reason"]].reset_index(drop=True)


def profile(relation: Any, meta: dict[str, Any], specs: Any = None) -> pd.DataFrame:
    """Return the profile of a gated mart (see ``mlmodels.quality.profiling.profile``).

    Statistics come from a seeded sample of at most ``sample_rows`` rows (default 500,000), so
    memory stays bounded; row and duplicate counts are exact, computed in the warehouse. Keys
    and label come from the specs that gate the mart (:func:`mlmodels.spec.spec_table.mart_keys`).
    """
    from mlmodels.quality import profiling

    relation = table(relation)
    limit = int(meta.get("sample_rows", 500_000))
    total = relation.count()
    sample = relation if total <= limit else relation.sample(limit, seed=42)
    keys, label = spec_table.mart_keys(_frame(specs), meta.get("mart"), meta)
    result = profiling.profile(sample.df(), label=label, key=keys or None)
    if keys and total > limit:
        # Exact over all rows, like the profile's own count: rows whose key occurs more than once.
        listed = ", ".join(map(relation.quote, keys))
        repeated = relation.aggregate(f"count(*) as n, {listed}", group_by=listed).filter("n > 1")
        duplicates = repeated.aggregate("coalesce(sum(n), 0)").fetchall()[0][0]
        result.loc[result.column == "__rows__", "note"] = (
            f"duplicate rows on {keys}: {duplicates} (exact; statistics from a sample of "
            f"{limit:,} of {total:,} rows)")
    return result.assign(mart=meta.get("mart"), sampled_rows=min(total, limit), total_rows=total)


def export(relations: dict[str, Any], meta: dict[str, Any]) -> pd.DataFrame:
    """Write each relation to ``<export_dir>/<name>.parquet``, replacing the file atomically.

    A BI tool reading the Parquet file while dbt runs sees the previous complete file until the
    new one is renamed over it (DuckDB allows no reader while dbt writes the database file).

    Returns
    -------
    pandas.DataFrame
        One row per exported table: table_name, path (absolute), rows, exported_at.
    """
    from datetime import UTC, datetime

    folder = Path(meta["export_dir"]).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, relation in relations.items():
        final, relation = folder / f"{name}.parquet", table(relation)
        write_atomic(final, lambda path, relation=relation: relation.write_parquet(str(path)),
                     mode=0o644)
        rows = relation.count()
        written.append({"table_name": name, "path": str(final), "rows": rows,
                        "exported_at": datetime.now(UTC).replace(tzinfo=None)})
    return pd.DataFrame(written)


def model_specs(meta: dict[str, Any]) -> pd.DataFrame:
    """Return the ``ml_model_specs`` table (see :func:`mlmodels.spec.table.spec_table`).

    ``meta``: ``spec_dir`` (``<project>/ml``) and ``models`` (the ``ml_models`` var, a list or
    its names joined by commas, as the package's YAML renders it).
    """
    names = meta.get("models") or []
    if isinstance(names, str):
        names = [name.strip() for name in names.split(",") if name.strip()]
    return spec_table.spec_table(Path(meta["spec_dir"]), names)


def _frame(relation: Any) -> pd.DataFrame | None:
    """Return a (small) relation's rows as pandas, or None for None."""
    return None if relation is None else table(relation).df()
