"""The monitoring macros against independent Python definitions, on data built to test them.

A throwaway dbt project adopts the mlmodels dbt package (a local package, as a user would) and
runs each macro over tables written here: PSI on random, skewed and tie-heavy numbers and on
categories with unseen values; realised ROC AUC / PR AUC with tied scores; each retraining reason
on rows built to fire it (and rows built not to). Each check also runs once with the macro broken
on purpose, to show that it can fail.
"""

import shutil
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from dbt.cli.main import dbtRunner
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    mean_absolute_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)

from mlmodels.learn import drift
from tests.integration.helpers import REPO, failures, throwaway_project

pytestmark = pytest.mark.slow

MODEL = "lab"
VERSION = "v1"
AS_OFS = pd.to_datetime(["2024-02-01", "2024-03-01", "2024-04-01"])
NUMERIC = ["normal", "skewed", "ties", "flag"]
CATEGORICAL = ["colour"]
TIER1 = "tier1_feature"

MODELS = {
    "feature_drift": f"""
        {{{{ mlmodels.feature_psi(
            reference_bins=source('lab', 'bins'), registry=source('lab', 'registry'),
            rows=source('lab', 'rows'), model_name='{MODEL}', as_of_col='as_of_date',
            scores=source('lab', 'scores'), entity_key='entity_id') }}}}""",
    "prediction_drift": f"""
        {{{{ mlmodels.prediction_psi(
            reference_bins=source('lab', 'bins'), scores=source('lab', 'scores'),
            model_name='{MODEL}', as_of_col='as_of_date') }}}}""",
    "realised": f"""
        {{{{ mlmodels.realised_performance(
            scores=source('lab', 'scores'), training_set=source('lab', 'rows'),
            registry=source('lab', 'registry'), model_name='{MODEL}', entity_key='entity_id',
            label='label', as_of_col='as_of_date') }}}}""",
    "realised_regression": f"""
        {{{{ mlmodels.realised_performance(
            scores=source('lab', 'regression_scores'), training_set=source('lab', 'rows'),
            registry=source('lab', 'registry'), model_name='{MODEL}', entity_key='entity_id',
            label='amount', as_of_col='as_of_date', task='regression') }}}}""",
    "signal": f"""
        {{{{ mlmodels.retrain_signal(
            scores=source('lab', 'signal_scores'), feature_drift=source('lab', 'signal_drift'),
            realised=source('lab', 'signal_realised'),
            evaluation_metrics=source('lab', 'signal_metrics'), model_name='{MODEL}',
            as_of_col='as_of_date', tier1=['{TIER1}'], drift_threshold=0.2,
            performance_margin=0.05, rate_gap=0.15, rate_window=1) }}}}""",
}
# The as_of grid up to the last event: mid-period, and exactly on a period boundary.
GRIDS = {
    "grid_week": ("2010-12-06", "timestamp '2011-12-09 12:50:00'", "week", "2011-12-05"),
    "grid_week_on_boundary": ("2010-12-06", "timestamp '2011-10-31 09:00:00'", "week",
                              "2011-10-31"),
    "grid_month": ("2023-07-01", "timestamp '2025-06-30 23:00:00'", "month", "2025-06-01"),
}
# More grids, each compared date by date with the portable default, with dbt's date_spine and
# with start + k periods in pandas: month ends, an end before the start, days, a future end.
MORE_GRIDS = {
    "grid_month_from_the_31st": ("2024-01-31", "timestamp '2024-07-30 23:59:59'", "month"),
    "grid_end_before_start": ("2024-05-01", "timestamp '2024-03-01 00:00:00'", "month"),
    "grid_days": ("2024-02-27", "timestamp '2024-03-02 10:00:00'", "day"),
    "grid_future_end": ("2026-06-01", "timestamp '2031-01-01 00:00:00'", "month"),
}
MODELS.update({
    name: f'{{{{ mlmodels.as_of_dates("{start}", "{end}", "{cadence}") }}}}'
    for name, (start, end, cadence, *_) in (GRIDS | MORE_GRIDS).items()
})
# The same grid by the portable default, and by dbt's date_spine as as_of_dates used to build it
# (a period more than datediff counts, then the dates up to the end).
CAPPED_END = 'least(cast({end} as date), cast(" ~ mlmodels.observed_until() ~ " as date))'
MODELS.update({
    f"{name}__default": (
        f'{{{{ mlmodels.default__as_of_dates("{start}", "{CAPPED_END.format(end=end)}", '
        f'"{cadence}") }}}}')
    for name, (start, end, cadence, *_) in (GRIDS | MORE_GRIDS).items()
})
MODELS.update({
    f"{name}__date_spine": (
        f'{{% set end = "{CAPPED_END.format(end=end)}" %}}'
        f'select cast(date_{cadence} as date) as as_of_date from ('
        f'{{{{ dbt.date_spine("{cadence}", "cast(\'{start}\' as date)", '
        f'dbt.dateadd("{cadence}", 1, "cast(" ~ end ~ " as date)")) }}}}) as spine '
        f'where date_{cadence} <= cast({{{{ end }}}} as date)')
    for name, (start, end, cadence, *_) in (GRIDS | MORE_GRIDS).items()
})
TABLES = ["bins", "registry", "rows", "scores", "regression_scores", "signal_scores",
          "signal_drift", "signal_realised", "signal_metrics"]

# Guards broken on purpose: (file in the package, text, replacement).
SABOTAGE = {
    "bucket upper edge inclusive": (
        "feature_psi.sql", "< bin_columns.bin_", "<= bin_columns.bin_"),
    "ties at their lowest rank": (
        "realised_performance.sql",
        "+ (count(*) over (partition by model_version, {{ as_of_col }}, score) - 1) / 2.0",
        "+ 0"),
    "drift reason on any feature": (
        "retrain_signal.sql", "and feature in ('{{ tier1 | join(\"', '\") }}')", ""),
}


def reference_and_current(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training rows, and rows at three as_ofs drifting away from them step by step."""
    rng = np.random.default_rng(seed)

    def draw(n: int, shift: float) -> pd.DataFrame:
        colours = rng.choice(["red", "green", "blue", "violet"], n,
                             p=[0.5 - shift / 4, 0.3, 0.2, shift / 4])
        frame = pd.DataFrame({
            "normal": rng.normal(shift, 1 + shift, n),
            "skewed": rng.lognormal(shift, 1.0, n),
            "ties": rng.poisson(0.7 + shift, n).astype(float),
            "flag": (rng.random(n) < 0.3 + shift / 5).astype(float),
            "colour": colours,
        })
        frame.loc[rng.random(n) < 0.05, "normal"] = np.nan  # nulls are left out of the PSI
        return frame

    train = draw(4000, 0.0)
    train["colour"] = train.colour.replace("violet", "red")  # violet: unseen in training
    current = pd.concat([draw(3000, shift).assign(as_of_date=as_of)
                         for shift, as_of in zip([0.0, 0.3, 0.8], AS_OFS, strict=True)],
                        ignore_index=True)
    current["entity_id"] = np.arange(len(current))
    label_rate = 1 / (1 + np.exp(-(current.normal.fillna(0) - 1)))
    current["label"] = (rng.random(len(current)) < label_rate).astype(int)
    current["amount"] = 100 + 40 * current.skewed + rng.normal(0, 30, len(current))
    current["is_label_mature"] = True
    # Scores with many ties (two decimals), informative but noisy.
    current["score"] = np.round(np.clip(label_rate + rng.normal(0, 0.2, len(current)), 0, 1), 2)
    return train, current


def signal_tables() -> dict[str, pd.DataFrame]:
    """One as_of per case: nothing, drift only, performance only, rates only, then immature."""
    dates = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01",
                            "2024-05-01"])
    scores = pd.DataFrame({"model_name": MODEL, "model_version": VERSION, "role": "champion",
                           "as_of_date": dates})
    drift_rows = pd.DataFrame({
        "model_name": MODEL, "model_version": VERSION,
        "as_of_date": np.repeat(dates, 2),
        "feature": [TIER1, "other_feature"] * 5,
        # other_feature drifts every time: not tier 1, so never a reason
        "psi": [0.05, 0.9, 0.35, 0.9, 0.05, 0.9, 0.05, 0.9, 0.05, 0.9],
    })
    realised = pd.DataFrame({
        "model_name": MODEL, "model_version": VERSION, "as_of_date": dates[:4],
        "labelled_rows": 1000,
        "roc_auc": [0.78, 0.79, 0.70, 0.78],  # test AUC 0.80, margin 0.05: fires below 0.75
        "mean_prediction": [0.20, 0.20, 0.20, 0.20],
        "mean_actual": [0.19, 0.21, 0.20, 0.30],  # a 15% gap fires at 0.30 only
    })
    metrics = pd.DataFrame({"model_name": MODEL, "model_version": VERSION, "model": "model",
                            "split": "test", "metric": ["roc_auc", "pr_auc"],
                            "value": [0.80, 0.5]})
    return {"signal_scores": scores, "signal_drift": drift_rows, "signal_realised": realised,
            "signal_metrics": metrics}


def write_tables(db: Path, train: pd.DataFrame, current: pd.DataFrame) -> None:
    bins = pd.concat([drift.reference_bins(train, NUMERIC, CATEGORICAL),
                      drift.prediction_bins(current.loc[current.as_of_date == AS_OFS[0], "score"]
                                            .to_numpy())], ignore_index=True)
    tables = {
        "bins": bins.assign(model_name=MODEL, model_version=VERSION),
        "registry": pd.DataFrame({
            "model_name": [MODEL], "model_version": [VERSION],
            "train_to": pd.to_datetime(["2024-01-01"]),
            "valid_from": pd.to_datetime(["2024-02-01"]), "valid_to": pd.to_datetime(["2024-02-01"]),
            "test_from": pd.to_datetime(["2024-03-01"]), "test_to": pd.to_datetime(["2024-03-01"]),
        }),
        "rows": current.drop(columns=["score"]),
        "scores": current[["entity_id", "as_of_date", "score"]].assign(
            model_name=MODEL, model_version=VERSION, role="champion", threshold=0.5,
            predicted_label=(current.score >= 0.5).astype(int)),
        "regression_scores": current[["entity_id", "as_of_date"]].assign(
            model_name=MODEL, model_version=VERSION, role="champion", threshold=None,
            predicted_label=None, score=90 + 45 * current.skewed),
        **signal_tables(),
    }
    with duckdb.connect(str(db)) as con:
        con.execute("create schema if not exists lab")
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f"create or replace table lab.{name} as select * from frame")
            con.unregister("frame")


def lab_project(root: Path, sabotage: str | None) -> Path:
    """A dbt project with the mlmodels package (a copy, so it can be broken) and the models."""
    package = root / "mlmodels_dbt"
    shutil.copytree(REPO / "mlmodels" / "dbt", package)
    if sabotage:
        file, old, new = SABOTAGE[sabotage]
        text = (package / "macros" / file).read_text()
        assert old in text, (file, old)
        (package / "macros" / file).write_text(text.replace(old, new))
    project = throwaway_project(root, "lab", package)
    sources = "\n".join(f"      - name: {t}" for t in TABLES)
    (project / "models" / "sources.yml").write_text(
        f"sources:\n  - name: lab\n    schema: lab\n    tables:\n{sources}\n")
    for name, sql in MODELS.items():
        (project / "models" / f"{name}.sql").write_text(textwrap.dedent(sql).strip() + "\n")
    return project


def run_lab(root: Path, sabotage: str | None = None, select: str | None = None):
    train, current = reference_and_current()
    db = root / "warehouse.duckdb"
    write_tables(db, train, current)
    project = lab_project(root, sabotage)
    env = pytest.MonkeyPatch()
    env.setenv("DUCKDB_PATH", str(db))
    try:
        common = ["--project-dir", str(project), "--profiles-dir", str(REPO), "--quiet"]
        assert dbtRunner().invoke(["deps", *common]).success
        result = dbtRunner().invoke(["run", *common, "--select", select or "package:lab"])
        assert result.success, failures(result)
    finally:
        env.undo()
    # Not read_only: dbt, in this process, may still hold the file with another configuration.
    with duckdb.connect(str(db)) as con:
        tables = {name: con.sql(f"select * from main.{name}").df()
                  for name in MODELS if select in (None, name)}
    return train, current, tables


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    return run_lab(tmp_path_factory.mktemp("lab"))


def categorical_psi(train: pd.Series, current: pd.Series) -> tuple[float, float]:
    """PSI over the categories seen in training (pandas), and the share of unseen ones."""
    seen = train.value_counts()
    counts = current.value_counts().reindex(seen.index, fill_value=0)
    ref = (seen + 1e-8) / seen.sum()
    cur = (counts + 1e-8) / counts.sum()
    return float(((cur - ref) * np.log(cur / ref)).sum()), 1 - counts.sum() / len(current)


def numeric_psi_mismatch(train, current, psi_rows) -> float:
    worst = 0.0
    for feature in NUMERIC:
        for as_of in AS_OFS:
            values = current.loc[current.as_of_date == as_of, feature].dropna().to_numpy(float)
            expected = drift.psi(train[feature].dropna().to_numpy(float), values)
            got = psi_rows[(psi_rows.feature == feature) & (psi_rows.as_of_date == as_of)]
            worst = max(worst, abs(got.psi.iloc[0] - expected))
    return worst


def test_numeric_psi_equals_the_reference_on_random_skewed_and_tied_data(lab):
    train, current, tables = lab
    psi_rows = tables["feature_drift"]
    assert numeric_psi_mismatch(train, current, psi_rows) < 1e-9
    normal = psi_rows[psi_rows.feature == "normal"].sort_values("as_of_date")
    assert list(normal.status) == ["stable", "moderate", "drift"]  # all three statuses
    assert normal.null_share.between(0.03, 0.07).all()


def test_categorical_psi_equals_pandas_and_reports_unseen_categories(lab):
    train, current, tables = lab
    rows = tables["feature_drift"]
    for as_of in AS_OFS:
        psi, unseen = categorical_psi(train.colour, current.colour[current.as_of_date == as_of])
        got = rows[(rows.feature == "colour") & (rows.as_of_date == as_of)].iloc[0]
        assert got.psi == pytest.approx(psi, abs=1e-9)
        assert got.unseen_share == pytest.approx(unseen, abs=1e-12)
    assert rows[rows.feature == "colour"].unseen_share.max() > 0.1


def test_prediction_psi_against_the_reference_scores(lab):
    _, current, tables = lab
    reference = current.loc[current.as_of_date == AS_OFS[0], "score"].to_numpy()
    for as_of in AS_OFS:
        got = tables["prediction_drift"].set_index("as_of_date").psi[as_of]
        expected = drift.psi(reference, current.loc[current.as_of_date == as_of, "score"])
        assert got == pytest.approx(expected, abs=1e-9)


def test_realised_classification_metrics_equal_sklearn(lab):
    _, current, tables = lab
    realised = tables["realised"].set_index("as_of_date")
    assert list(realised.period[AS_OFS]) == ["valid", "test", "live"]
    for as_of in AS_OFS:
        rows = current[current.as_of_date == as_of]
        got = realised.loc[as_of]
        predicted = (rows.score >= 0.5).astype(int)
        assert got.labelled_rows == len(rows)
        assert got.roc_auc == pytest.approx(roc_auc_score(rows.label, rows.score), abs=1e-12)
        assert got.pr_auc == pytest.approx(
            average_precision_score(rows.label, rows.score), abs=1e-12)
        assert got.precision == pytest.approx(precision_score(rows.label, predicted), abs=1e-12)
        assert got.recall == pytest.approx(recall_score(rows.label, predicted), abs=1e-12)
        assert got.f1 == pytest.approx(f1_score(rows.label, predicted), abs=1e-12)
        assert got.predicted_rate == pytest.approx(rows.score.mean(), abs=1e-12)
        assert got.actual_rate == pytest.approx(rows.label.mean(), abs=1e-12)


def test_realised_regression_metrics_equal_sklearn(lab):
    _, current, tables = lab
    realised = tables["realised_regression"].set_index("as_of_date")
    for as_of in AS_OFS:
        rows = current[current.as_of_date == as_of]
        predicted = 90 + 45 * rows.skewed
        got = realised.loc[as_of]
        rmse = float(np.sqrt(np.mean((predicted - rows.amount) ** 2)))
        assert got.rmse == pytest.approx(rmse, rel=1e-12)
        assert got.mae == pytest.approx(mean_absolute_error(rows.amount, predicted), rel=1e-12)
        assert got.r2 == pytest.approx(r2_score(rows.amount, predicted), abs=1e-12)
        assert pd.isna(got.roc_auc)


def test_each_retraining_reason_fires_on_its_case_only(lab):
    signal = lab[2]["signal"].sort_values("as_of_date").reset_index(drop=True)
    reasons = signal[["drift_reason", "performance_reason", "rate_reason"]].astype(bool)
    assert reasons.values.tolist() == [
        [False, False, False],  # nothing (a non-tier-1 feature drifting is not a reason)
        [True, False, False],   # tier-1 PSI 0.35 >= 0.2
        [False, True, False],   # realised AUC 0.70 < 0.80 - 0.05
        [False, False, True],   # mean prediction 0.20 vs actual 0.30: 33% apart
        [False, False, True],   # not matured: the latest known performance (2024-04-01) holds
    ]
    assert signal.retrain_recommended.tolist() == [False, True, True, True, True]
    assert signal.reasons[0] == ""
    assert "tier1_feature 0.35" in signal.reasons[1]
    assert "realised roc_auc 0.7" in signal.reasons[2]
    assert signal.performance_as_of[4] == pd.Timestamp("2024-04-01")


def test_the_as_of_grid_reaches_the_last_event(lab):
    tables = lab[2]
    for name, (start, _, _, last) in GRIDS.items():
        dates = tables[name].as_of_date
        assert (str(dates.min())[:10], str(dates.max())[:10]) == (start, last), name


def test_the_as_of_grid_is_date_spines_and_start_plus_k_periods(lab):
    tables = lab[2]
    step = {"day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1),
            "month": pd.DateOffset(months=1)}
    for name, (start, end, cadence, *_) in (GRIDS | MORE_GRIDS).items():
        # the observed end: the build's start (UTC), before a future end
        last = min(pd.Timestamp(end.split("'")[1]), pd.Timestamp.now("UTC").tz_localize(None))
        expected, k = [], 0
        while (date := pd.Timestamp(start) + step[cadence] * k) <= last.normalize():
            expected.append(date)
            k += 1
        grid = sorted(pd.to_datetime(tables[name].as_of_date))
        assert grid == expected, name
        for other in ("default", "date_spine"):
            assert sorted(pd.to_datetime(tables[f"{name}__{other}"].as_of_date)) == grid, name
    assert tables["grid_end_before_start"].empty
    assert len(tables["grid_future_end"]) >= 6  # June to December 2026 at least


@pytest.mark.parametrize("sabotage", sorted(SABOTAGE))
def test_the_checks_catch_a_broken_macro(tmp_path, sabotage):
    select = {"bucket upper edge inclusive": "feature_drift",
              "ties at their lowest rank": "realised",
              "drift reason on any feature": "signal"}[sabotage]
    train, current, tables = run_lab(tmp_path, sabotage, select)
    if select == "feature_drift":
        assert numeric_psi_mismatch(train, current, tables[select]) > 1e-6
    elif select == "realised":
        rows = current[current.as_of_date == AS_OFS[0]]
        got = tables[select].set_index("as_of_date").roc_auc[AS_OFS[0]]
        assert abs(got - roc_auc_score(rows.label, rows.score)) > 1e-6
    else:
        assert tables[select].sort_values("as_of_date").drift_reason.iloc[0]
