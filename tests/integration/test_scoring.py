"""Prediction tables: incremental, idempotent, history-keeping, integrity-checked, BI-readable."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from mlmodels.serve import scoring
from tests.integration.helpers import failures, new_warehouse

pytestmark = pytest.mark.slow

SCORES = "select * from ml_churn__scores order by all"
KEYS = ["customer_id", "as_of_date"]
EARLIER = '{score_as_of: "2025-05-01"}'


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    built = new_warehouse(tmp_path_factory.mktemp("scoring"))
    built.build()
    return built


def score_as_ofs(warehouse) -> dict[str, int]:
    counts = warehouse.sql("select cast(as_of_date as varchar) as d, count(*) as n"
                           " from ml_churn__scores group by 1 order by 1")
    return dict(zip(counts.d, counts.n, strict=True))


def keys(frame) -> set[tuple]:
    return set(frame[KEYS].itertuples(index=False, name=None))


def test_the_first_run_backfills_every_as_of_after_the_fit_window(warehouse):
    scores = warehouse.sql(SCORES)
    champion = warehouse.sql("select model_version, fit_to from ml_model_registry"
                             " where model_name = 'churn' and status = 'champion'").iloc[0]
    after = warehouse.sql("select customer_id, as_of_date from ml_churn__training_set"
                          f" where as_of_date > date '{champion.fit_to:%Y-%m-%d}'")
    # One row per row of the training set after the fit window, every one the champion's.
    assert not scores.duplicated(["model_version", *KEYS]).any()
    assert keys(scores) == keys(after) and len(scores) == len(after)
    assert set(scores.model_version) == {champion.model_version} and set(scores.role) == {
        "champion"}
    live = scores.as_of_date == scores.as_of_date.max()
    assert not scores[live].backfill.any() and scores[~live].backfill.all()


def test_a_rerun_replaces_its_as_of_and_keeps_every_other(warehouse):
    before = warehouse.sql(SCORES)
    warehouse.build("--select", "ml_churn__scores", "--vars", EARLIER)
    after = warehouse.sql(SCORES)
    assert score_as_ofs(warehouse) == before.groupby(
        before.as_of_date.dt.strftime("%Y-%m-%d")).size().to_dict()
    rerun = after.as_of_date == "2025-05-01"
    kept = before[before.as_of_date != "2025-05-01"].reset_index(drop=True)
    assert after[~rerun].reset_index(drop=True).equals(kept)  # scored_at included: untouched
    again = after[rerun].reset_index(drop=True)
    old = before[before.as_of_date == "2025-05-01"].reset_index(drop=True)
    assert again.drop(columns=["scored_at", "backfill"]).equals(
        old.drop(columns=["scored_at", "backfill"]))  # same rows, same scores, no duplicates
    assert not again.backfill.any() and (again.scored_at > old.scored_at).all()
    assert set(after.role) == {"champion"}


def test_no_dbt_tmp_tables_are_left_behind(warehouse):
    tables = warehouse.sql("select table_name from information_schema.tables")
    assert not tables.table_name.str.contains("__dbt_tmp").any()


def test_full_refresh_of_upstream_models_keeps_the_history(warehouse):
    before = warehouse.sql(SCORES)
    warehouse.build("--full-refresh")
    after = warehouse.sql(SCORES)
    # The earlier as_ofs are kept row for row (scored_at too); the latest is scored again to the
    # same rows and scores; no row is duplicated.
    latest = before.as_of_date.max()
    kept = after[after.as_of_date != latest].reset_index(drop=True)
    assert kept.equals(before[before.as_of_date != latest].reset_index(drop=True))
    again = after[after.as_of_date == latest].reset_index(drop=True)
    old = before[before.as_of_date == latest].reset_index(drop=True)
    assert again.drop(columns="scored_at").equals(old.drop(columns="scored_at"))
    assert (again.scored_at >= old.scored_at).all()
    assert not after.duplicated(["model_version", *KEYS]).any()
    # The BI table carries exactly those scores.
    predictions = warehouse.sql("select * from ml_churn__predictions")
    columns = ["model_version", "role", *KEYS, "score", "backfill", "scored_at"]
    pd.testing.assert_frame_equal(
        predictions[columns].sort_values(columns).reset_index(drop=True),
        after[columns].sort_values(columns).reset_index(drop=True))


def test_a_scoring_run_that_fails_half_way_changes_nothing(warehouse, monkeypatch):
    before = warehouse.sql(SCORES)
    calls = {"n": 0}
    real = scoring._scored_batch

    def fail_on_the_third_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed half-way")
        return real(*args, **kwargs)

    monkeypatch.setattr(scoring, "BATCH_ROWS", 500)
    monkeypatch.setattr(scoring, "_scored_batch", fail_on_the_third_batch)
    result = warehouse.build("--select", "ml_churn__scores", expect_success=False)
    assert "killed half-way" in failures(result)
    assert calls["n"] == 3
    assert warehouse.sql(SCORES).equals(before)


def test_a_tampered_artifact_is_refused_and_changes_nothing(warehouse):
    before = warehouse.sql(SCORES)
    row = warehouse.sql("select * from ml_model_registry where model_name = 'churn'"
                        " and status = 'champion'").iloc[0]
    artifact = Path(row.artifact_uri)
    original = artifact.read_bytes()
    try:
        with open(row.artifact_uri, "ab") as handle:
            handle.write(b"\0")
        result = warehouse.build("--select", "ml_churn__scores", expect_success=False)
        message = failures(result)
        assert row.model_version in message and row.artifact_uri in message
        assert "refusing to load it" in message
    finally:
        artifact.write_bytes(original)
    assert warehouse.sql(SCORES).equals(before)


def test_the_build_succeeds_while_another_process_reads_the_exports(warehouse):
    exports = warehouse.artifacts.parent / "exports"
    files = sorted(exports.glob("*.parquet"))
    assert {"ml_churn__predictions.parquet", "ml_model_registry.parquet"} <= {f.name for f in files}
    reader = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time, pyarrow.parquet as pq
        deadline, reads = time.time() + 600, 0
        while time.time() < deadline and not open({str(exports / 'stop')!r}, 'a').tell():
            for path in {[str(f) for f in files]!r}:
                pq.read_table(path)  # a partial file would raise here
                reads += 1
        print(reads)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        warehouse.build("--select", "ml_churn__scores+", "ml_exports")
    finally:
        (exports / "stop").write_text("stop")
        out, _ = reader.communicate(timeout=60)
    assert reader.returncode == 0, "the reader failed while dbt wrote the exports"
    assert int(out) > 0  # (it did read while dbt wrote)
    # What the build left in the exports is the tables, row for row.
    for table in ("ml_churn__predictions", "ml_model_registry"):
        exported = warehouse.sql(f"select * from read_parquet('{exports / table}.parquet')")
        built = warehouse.sql(f"select * from {table}")
        assert list(exported.columns) == list(built.columns), table
        order = [c for c in ("model_name", "model_version", *KEYS) if c in built.columns]
        pd.testing.assert_frame_equal(
            exported.sort_values(order).reset_index(drop=True),
            built.sort_values(order).reset_index(drop=True), obj=table)


def test_docs_show_lineage_from_sources_to_predictions(warehouse):
    warehouse.dbt("docs generate")
    manifest = json.loads((warehouse.project / "target" / "manifest.json").read_text())
    parents = manifest["parent_map"]
    seen, todo = set(), ["model.mlmodels_demo.ml_churn__predictions"]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo += parents.get(node, [])
    assert "source.mlmodels_demo.demo.events" in seen
    assert "model.mlmodels_demo.dq_feat_customer__as_of" in seen  # the gate is on the path


def test_a_scores_table_from_before_reason_codes_gains_their_columns_and_keeps_its_rows(
        warehouse):
    """A project upgraded to an mlmodels that explains its scores keeps its history: the
    incremental scores table gains the explanation columns (null on the rows already held), the
    re-scored as_of is explained, and the predictions table builds. Without the upgrade dbt's
    default on_schema_change (ignore) drops the new columns from every insert."""
    columns = scoring.EXPLANATION_COLUMNS
    warehouse.raw(" ".join(f"alter table main.ml_churn__scores drop column {column};"
                           for column in columns))
    before = warehouse.sql(SCORES)
    assert not set(columns) & set(before.columns)
    warehouse.build("--select", "ml_churn__scores+", "--vars", EARLIER)
    after = warehouse.sql(SCORES)
    assert set(columns) <= set(after.columns)
    rerun = after.as_of_date == "2025-05-01"
    kept = after[~rerun].reset_index(drop=True)
    assert kept[before.columns].equals(
        before[before.as_of_date != "2025-05-01"].reset_index(drop=True))
    assert kept[list(columns)].isna().all().all()
    assert after[rerun].reasons.notna().all() and rerun.sum() == (
        before.as_of_date == "2025-05-01").sum()
    predictions = warehouse.sql("select reasons from ml_churn__predictions"
                                " where as_of_date = date '2025-05-01'")
    assert len(predictions) == rerun.sum() and predictions.reasons.notna().all()
