import html
import re
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from mlmodels import cli, files
from mlmodels.learn import comparison
from mlmodels.reports import model_monitoring, model_page
from mlmodels.reports.html import NOT_AVAILABLE
from tests.unit import charts

AS_OF = pd.date_range("2025-01-01", periods=6, freq="MS")
FEATURES = {"x1": "numeric", "x2": "numeric", "colour": "categorical", "a<b>&c": "numeric"}
HOSTILE_REASON = "beats the rule <script>alert('x')</script>"


def _registry_row(name: str, version: str, status: str, trained_at: str, task: str) -> dict:
    classifier = task == "binary_classification"
    return {
        "model_name": name, "model_version": version, "status": status,
        "reason": HOSTILE_REASON, "trained_at": pd.Timestamp(trained_at),
        "promoted_at": pd.Timestamp(trained_at), "task": task, "spec_hash": "ab" * 32,
        "split_strategy": "time",
        "estimator": "logistic_regression" if classifier else "ridge",
        "params": '{"C": 1.0, "max_iter": 1000}' if classifier else '{"alpha": 10.0}',
        "numeric_features": '["x1", "x2", "a<b>&c"]', "categorical_features": '["colour"]',
        "train_from": pd.Timestamp("2024-01-01"), "train_to": pd.Timestamp("2024-06-01"),
        "train_rows": 1200, "valid_from": pd.Timestamp("2024-08-01"),
        "valid_to": pd.Timestamp("2024-08-01"), "valid_rows": 200,
        "test_from": pd.Timestamp("2024-10-01"), "test_to": pd.Timestamp("2024-12-01"),
        "test_rows": 600, "fit_rows": 1200, "fit_from": pd.Timestamp("2024-01-01"),
        "fit_to": pd.Timestamp("2024-06-01"),
        "selection_metric": "roc_auc" if classifier else "rmse",
        "train_score": 0.81, "valid_score": 0.78, "test_score": 0.79,
        "threshold": 0.35 if classifier else None,
        "success_metric": "recall" if classifier else "r2", "success_target": 0.5,
        "success_value": 0.71, "met_criterion": True, "beat_rule": True,
    }


def _metrics(name: str, version: str, task: str) -> list[dict]:
    names = (["roc_auc", "pr_auc", "log_loss", "recall", "actual_rate"]
             if task == "binary_classification" else ["rmse", "mae", "r2"])
    rows = []
    for split in ["train", "valid", "test"]:
        for model, lift in [("model", 0.1), ("prior", 0.0), ("linear", 0.05), ("rule", 0.02)]:
            for metric in names:
                value = 0.2 if metric == "actual_rate" else 0.6 + lift
                if metric in {"log_loss", "rmse", "mae"}:
                    value = 1.0 - lift
                rows.append({"model_name": name, "model_version": version, "model": model,
                             "split": split, "metric": metric, "value": value})
    return rows


def _curves(name: str, version: str) -> list[dict]:
    rows = []
    grid = np.linspace(0, 1, 11)
    for split, k in [("valid", 0.9), ("test", 0.8)]:  # the splits' curves differ a little
        for x in grid:
            rows.append({"curve": "roc", "split": split, "x": x, "y": x**(k - 0.4),
                         "threshold": 1 - x, "rows": None})
            rows.append({"curve": "pr", "split": split, "x": x, "y": 1 - k * x,
                         "threshold": 1 - x, "rows": None})
        for x in grid[1::2]:
            rows.append({"curve": "calibration", "split": split, "x": x, "y": x * k,
                         "threshold": None, "rows": 40.0})
    return [{"model_name": name, "model_version": version, **row} for row in rows]


def _thresholds(name: str, version: str) -> list[dict]:
    rows = []
    for t in np.round(np.arange(0.01, 1.0, 0.01), 2).tolist():
        tp = round(40 * (1 - t))
        fp = round(160 * (1 - t) ** 2)
        rows.append({"model_name": name, "model_version": version, "threshold": t,
                     "precision": tp / max(tp + fp, 1), "recall": tp / 40,
                     "f1": 2 * tp / (2 * tp + fp + (40 - tp)),
                     "predicted_positive_rate": (tp + fp) / 200, "tp": tp, "fp": fp,
                     "tn": 160 - fp, "fn": 40 - tp, "expected_cost": fp + 5.0 * (40 - tp),
                     "net_value": 3.0 * tp - fp, "is_chosen": t == 0.3,
                     "reason": "threshold policy max_f1: the highest F1" if t == 0.3 else None})
    return rows


def _feature_drift(name: str, version: str, features: dict[str, str]) -> list[dict]:
    rows = []
    for i, date in enumerate(AS_OF):
        for j, (feature, kind) in enumerate(features.items()):
            psi = 0.02 + 0.06 * i * j  # x1 stays stable, the later features drift
            rows.append({
                "model_name": name, "model_version": version, "feature": feature,
                "feature_type": kind, "as_of_date": date.date(), "psi": psi,
                "status": "drift" if psi >= 0.2 else "moderate" if psi >= 0.1 else "stable",
                "reference_total": 1200, "current_total": 200, "null_share": 0.01,
                "unseen_share": 0.0 if kind == "categorical" else None,
            })
    return rows


def _monitoring(name: str, version: str, task: str) -> dict[str, list[dict]]:
    keys = {"model_name": name, "model_version": version}
    prediction = [{**keys, "as_of_date": d.date(), "psi": 0.03 * i, "status": "stable",
                   "reference_total": 600, "current_total": 200} for i, d in enumerate(AS_OF)]
    classifier = task == "binary_classification"
    realised = [{
        **keys, "as_of_date": d.date(), "period": "month", "labelled_rows": 200,
        "positives": 40, "actual_rate": 0.2, "predicted_rate": 0.22,
        "predicted_positive_share": 0.3,
        "roc_auc": 0.8 - 0.02 * i if classifier else None,
        "pr_auc": 0.5 - 0.02 * i if classifier else None,
        "precision": 0.4 if classifier else None, "recall": 0.7 if classifier else None,
        "f1": 0.5 if classifier else None, "threshold": 0.35 if classifier else None,
        "rmse": None if classifier else 1.0 + 0.1 * i, "mae": None if classifier else 0.8,
        "r2": None if classifier else 0.5, "mean_prediction": 0.22, "mean_actual": 0.2,
    } for i, d in enumerate(AS_OF[:-2])]  # the last months' labels have not matured
    retrain = [{
        **keys, "as_of_date": d.date(), "retrain_recommended": i == len(AS_OF) - 1,
        "reasons": "tier-1 drift: x2 (PSI 0.32)" if i == len(AS_OF) - 1 else "",
        "max_tier1_psi": 0.06 * i, "performance_metric": "roc_auc",
        "realised_value": 0.8 - 0.02 * i, "test_value": 0.8,
        "rolling_predicted_rate": 0.22, "rolling_actual_rate": 0.2,
    } for i, d in enumerate(AS_OF)]
    return {"prediction_drift": prediction, "realised_performance": realised,
            "retrain_signal": retrain}


def _comparison_tables() -> dict[str, list[dict]]:
    """The new evaluation tables (from mlmodels.learn.comparison on toy rows), the model specs,
    and toy's scores and training set (the realised labels)."""
    rng = np.random.default_rng(4)
    n = 600
    colour = pd.Series(rng.choice(["red", "green", "blue"], size=n))
    labels = (rng.random(n) < 0.2 + 0.2 * (colour == "red")).astype(int).to_numpy()
    scores = np.clip(0.3 * labels + rng.random(n) * 0.7, 0, 1)
    actual = rng.normal(100, 20, n)
    predicted = actual + rng.normal(5, 10, n)
    keys = {"toy": {"model_name": "toy", "model_version": "v2"},
            "toy_reg": {"model_name": "toy_reg", "model_version": "r1"}}
    features = pd.DataFrame({"colour": colour})
    candidates = [
        {**keys[m], "candidate": c, "params": p, "cv_mean": cv, "cv_std": 0.01,
         "fit_seconds": 0.5, "latency_ms_per_1000": 12.0, "artifact_mb": 0.1,
         "meets_constraints": True, "valid_score": cv - 0.01, "selected": selected}
        for m in keys
        for c, p, cv, selected in [("logistic_regression", '{"C": 1.0}', 0.71, False),
                                   ("hist_gradient_boosting", '{"max_iter": 100}', 0.74, True)]]
    curve = [{**keys[m], "train_rows": size, "train_score": 0.9 - 0.05 * i,
              "valid_score": 0.6 + 0.05 * i}
             for m in keys for i, size in enumerate([240, 600, 1200])]
    dates = AS_OF[:3]
    mart = pd.DataFrame([(e, d.date()) for d in dates for e in range(200)],
                        columns=["entity_id", "as_of_date"])
    mart["colour"] = rng.choice(["red", "green", "blue"], size=len(mart))
    mart["label"] = (rng.random(len(mart)) < 0.25).astype(int)
    mart["is_label_mature"] = True
    toy_scores = mart[["entity_id", "as_of_date"]].assign(
        model_name="toy", model_version="v2", role="champion",
        score=np.clip(0.3 * mart["label"] + rng.random(len(mart)) * 0.7, 0, 1), threshold=0.35)
    return {
        "ml_evaluation__lift": [{**keys["toy"], **r}
                                for r in comparison.lift_table(labels, scores)],
        "ml_evaluation__residuals": [{**keys["toy_reg"], **r}
                                     for r in comparison.residual_table(actual, predicted)],
        "ml_evaluation__segments": [
            {**keys["toy"], **r} for r in comparison.segment_table(
                features, labels, scores, is_classifier=True, threshold=0.35)] + [
            {**keys["toy_reg"], **r} for r in comparison.segment_table(
                features, actual, predicted, is_classifier=False)],
        "ml_evaluation__candidates": candidates,
        "ml_evaluation__learning_curve": curve,
        "ml_model_specs": [
            {"model_name": "toy", "target": "label", "entity_key": "entity_id",
             "training_set": "ml_toy__training_set"},
            {"model_name": "toy_reg", "target": "label", "entity_key": "entity_id",
             "training_set": "ml_toy_reg__training_set"}],
        "ml_toy__training_set": mart.to_dict("records"),
        "ml_toy__scores": toy_scores.to_dict("records"),
    }


def build_warehouse(path: Path, monitoring: bool = True, schema: str = "main") -> Path:
    """Write a DuckDB file with the tables the report reads, for models toy and toy_reg.

    toy (a classifier) has a rejected older version v1 and the champion v2; toy_reg is a
    regression champion r1. Only v2 and r1 have evaluation and monitoring rows.
    """
    classifier, regression = "binary_classification", "regression"
    tables: dict[str, list[dict]] = {
        "ml_model_registry": [
            _registry_row("toy", "v1", "rejected", "2025-01-02 06:00", classifier),
            _registry_row("toy", "v2", "champion", "2025-01-01 06:00", classifier),
            _registry_row("toy_reg", "r1", "champion", "2025-01-01 06:00", regression),
        ],
        "ml_evaluation__metrics": _metrics("toy", "v2", classifier)
        + _metrics("toy_reg", "r1", regression),
        "ml_evaluation__curves": _curves("toy", "v2"),
        "ml_evaluation__confusion": [
            {"model_name": "toy", "model_version": "v2", "split": split, "threshold": 0.35,
             "tp": 30, "fp": 50, "tn": 110, "fn": 10} for split in ["valid", "test"]],
        "ml_evaluation__thresholds": _thresholds("toy", "v2"),
        "ml_evaluation__importances": [
            {"model_name": m, "model_version": v, "feature": f, "importance_mean": mean,
             "importance_std": 0.01}
            for m, v in [("toy", "v2"), ("toy_reg", "r1")]
            for f, mean in zip(FEATURES, [0.2, 0.05, 0.01, -0.004], strict=True)],
        "ml_toy__feature_drift": _feature_drift("toy", "v2", FEATURES),
        "ml_toy_reg__feature_drift": _feature_drift("toy_reg", "r1", FEATURES),
        **_comparison_tables(),
    }
    if monitoring:
        for model, version, task in [("toy", "v2", classifier), ("toy_reg", "r1", regression)]:
            for suffix, rows in _monitoring(model, version, task).items():
                tables[f"ml_{model}__{suffix}"] = rows
    with duckdb.connect(str(path)) as con:
        con.execute(f"create schema if not exists {schema}")
        for table, rows in tables.items():
            con.register("rows_frame", pd.DataFrame(rows))
            con.execute(f"create table {schema}.{table} as select * from rows_frame")
            con.unregister("rows_frame")
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("warehouse") / "wh.duckdb")


@pytest.fixture
def db(built, tmp_path) -> Path:
    """A copy of the warehouse that a test may change."""
    return Path(shutil.copy(built, tmp_path / "wh.duckdb"))


def _write(db: Path, out: Path, model: str = "toy", **kwargs) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        path = model_page.write_model_report(con, model, out, **kwargs)
    return path.read_text()


def _section(page: str, anchor: str) -> str:
    return page.split(f'id="{anchor}"')[1].split("<h2")[0]


def test_page_has_every_section_with_its_charts(db, tmp_path):
    with duckdb.connect(str(db), read_only=True) as con:
        path = model_page.write_model_report(con, "toy", tmp_path / "reports")
    assert path == tmp_path / "reports" / "toy" / "v2.html"  # the champion, not the latest
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>")
    for heading in ["Metrics against the baselines", "Evaluation", "Feature drift",
                    "Prediction drift", "Realised performance", "Retraining signal"]:
        assert f">{heading}</h2>" in page
    assert NOT_AVAILABLE not in page
    assert 'class="badge champion"' in page
    assert "logistic_regression" in page and "C=1.0, max_iter=1000" in page
    assert "3 numeric, 1 categorical" in page
    assert "recall &gt;= 0.500: 0.710 (met)" in page
    assert re.search(r"<td>test</td><td>2024-10-01</td><td>2024-12-01</td>"
                     r'<td class="num">600</td>', page)
    assert set(charts.svgs(_section(page, "evaluation-curves"))) == {
        "ROC curve", "Precision-recall curve", "Calibration", "Permutation importance"}
    assert set(charts.svgs(_section(page, "prediction-drift"))) == {"Prediction drift"}
    assert set(charts.svgs(_section(page, "realised-performance"))) == {
        "Realised roc_auc and pr_auc"}
    # (What each chart draws is read back from it in the tests below.)


def _curve(curve: str, split: str) -> np.ndarray:
    rows = pd.DataFrame(_curves("toy", "v2"))
    return rows[(rows.curve == curve) & (rows.split == split)][["x", "y"]].to_numpy()


def test_each_curve_is_drawn_through_the_points_of_its_table(db, tmp_path):
    """Every polyline, read back through its chart's axes, passes through the table's (x, y)."""
    drawn = charts.svgs(_section(_write(db, tmp_path), "evaluation-curves"))
    for curve, name in [("roc", "ROC curve"), ("pr", "Precision-recall curve"),
                        ("calibration", "Calibration")]:
        series = charts.lines(drawn[name])
        assert list(series) == ["valid", "test"], name
        for split, points in series.items():
            np.testing.assert_allclose(points, _curve(curve, split), atol=1e-3,
                                       err_msg=f"{name} {split}")
    # Calibration bins are markers whose tooltips carry the bin's values and row count.
    marked = charts.markers(drawn["Calibration"])
    np.testing.assert_allclose([(x, y) for x, y, _ in marked],
                               np.vstack([_curve("calibration", s) for s in ("valid", "test")]),
                               atol=1e-3)
    assert [tip for *_, tip in marked] == [
        f"{split}: x {x:.3f}, y {k * x:.3f}, 40 rows"
        for split, k in (("valid", 0.9), ("test", 0.8)) for x in np.linspace(0, 1, 11)[1::2]]
    # The precision-recall chart's reference is each split's positive rate (0.2 in the metrics).
    assert charts.reference_lines(drawn["Precision-recall curve"]) == pytest.approx(
        {"valid positive rate": 0.2, "test positive rate": 0.2}, abs=1e-3)


def test_importance_bars_reach_each_mean_importance_largest_first(db, tmp_path):
    drawn = charts.svgs(_section(_write(db, tmp_path), "evaluation-curves"))
    bars = charts.bars(drawn["Permutation importance"])
    assert [b.tooltip for b in bars] == [
        "x1: 0.200 ± 0.010", "x2: 0.050 ± 0.010", "colour: 0.010 ± 0.010",
        "a<b>&c: -0.004 ± 0.010"]
    # A bar spans from zero to its mean: rightwards when positive, leftwards when negative.
    ends = [b.right if abs(b.right) > abs(b.left) else b.left for b in bars]
    starts = [b.left if abs(b.right) > abs(b.left) else b.right for b in bars]
    np.testing.assert_allclose(ends, [0.2, 0.05, 0.01, -0.004], atol=1e-4)
    np.testing.assert_allclose(starts, 0.0, atol=1e-4)


def test_confusion_matrices_hold_each_splits_counts_and_shares(db, tmp_path):
    evaluation = _section(_write(db, tmp_path), "evaluation-curves")
    tables = re.findall(r'<table class="confusion"><caption>([^<]+)</caption>(.*?)</table>',
                        evaluation)
    assert [caption for caption, _ in tables] == ["valid at threshold 0.350",
                                                  "test at threshold 0.350"]
    for _, body in tables:  # rows: actual positive (tp, fn), actual negative (fp, tn)
        assert re.findall(r'<td class="num">([^<]+)</td>', body) == [
            "30 (15.0%)", "10 (5.0%)", "50 (25.0%)", "110 (55.0%)"]


def test_realised_chart_puts_each_matured_as_of_at_its_metric_value(db, tmp_path):
    drawn = charts.svgs(_section(_write(db, tmp_path), "realised-performance"))
    chart = drawn["Realised roc_auc and pr_auc"]
    matured = AS_OF[:-2]  # the last months' labels have not matured: no point for them
    days = [charts.day(d) for d in matured]
    expected = {"roc_auc": [0.8 - 0.02 * i for i in range(len(matured))],
                "pr_auc": [0.5 - 0.02 * i for i in range(len(matured))]}
    series = charts.lines(chart)
    assert list(series) == ["roc_auc", "pr_auc"]
    for metric, points in series.items():
        np.testing.assert_allclose([x for x, _ in points], days, atol=0.05)  # within an hour
        np.testing.assert_allclose([y for _, y in points], expected[metric], atol=1e-3)
    assert [tip for *_, tip in charts.markers(chart)] == [
        f"{metric}: {d:%Y-%m-%d} (month): {value:.3f}"
        for metric, values in expected.items() for d, value in zip(matured, values, strict=True)]
    # The dashed references stand at the test values of the metrics table (0.7 for both).
    assert charts.reference_lines(chart) == pytest.approx(
        {"test roc_auc 0.700": 0.7, "test pr_auc 0.700": 0.7}, abs=1e-3)


def test_prediction_drift_bars_stand_at_each_as_ofs_psi(db, tmp_path):
    drawn = charts.svgs(_section(_write(db, tmp_path), "prediction-drift"))
    bars = charts.bars(drawn["Prediction drift"])
    psi = [0.03 * i for i in range(len(AS_OF))]
    assert [b.tooltip for b in bars] == [
        f"{d:%Y-%m-%d}: PSI {p:.3f}" for d, p in zip(AS_OF, psi, strict=True)]
    np.testing.assert_allclose([(b.left + b.right) / 2 for b in bars],
                               [charts.day(d) for d in AS_OF], atol=0.05)
    np.testing.assert_allclose([b.top for b in bars[1:]], psi[1:], atol=1e-3)
    np.testing.assert_allclose([b.bottom for b in bars[1:]], 0.0, atol=1e-3)
    assert bars[0].top - bars[0].bottom < 0.002  # a PSI of 0 is a hairline, not a gap


def test_metrics_table_puts_the_model_beside_each_baseline(db, tmp_path):
    metrics = _section(_write(db, tmp_path), "evaluation-metrics")
    header = re.search(r"<thead>(.*?)</thead>", metrics).group(1)
    assert re.findall(r"<th>([^<]+)</th>", header) == [
        "Split", "Metric", "model", "prior", "linear", "rule", "Model vs best baseline"]
    assert '<td rowspan="5">valid</td>' in metrics
    # roc_auc: model 0.7 against the best baseline (linear) 0.65; log_loss is lower-is-better.
    assert '<tr class="selected"><td rowspan="5">train</td><td>roc_auc</td>' in metrics
    assert '<td class="num better">+0.050</td>' in metrics
    assert '<td class="num better">-0.050</td>' in metrics


def test_heatmap_has_a_cell_per_feature_and_date(db, tmp_path):
    drift = _section(_write(db, tmp_path), "feature-drift")
    heatmap = charts.svgs(drift)["Feature drift heatmap"]
    cells = [(charts.title(g), g.get("data-band"), g.find("text").text)
             for g in heatmap.iter("g") if g.get("class") == "cell"]
    # Rows by the worst PSI first (a<b>&c, colour, x2, x1), a column per date; each cell shows
    # its PSI, is coloured by its status and says both in its tooltip.
    rows = pd.DataFrame(_feature_drift("toy", "v2", FEATURES))
    rank = rows.feature.map({f: k for k, f in enumerate(["a<b>&c", "colour", "x2", "x1"])})
    rows = rows.assign(rank=rank).sort_values(["rank", "as_of_date"])

    def tooltip(r) -> str:
        return (f"{r.feature} on {r.as_of_date:%Y-%m-%d}: PSI {r.psi:.3f}; status {r.status}; "
                "nulls 1.0%; 200 rows")

    assert cells == [(tooltip(r), r.status, f"{r.psi:.2f}") for r in rows.itertuples()]
    assert {"stable", "moderate", "drift"} <= {band for _, band, _ in cells}
    # The worst feature comes first; x1 never drifts and comes last among equals.
    labels = re.findall(r'text-anchor="end">([^<]+)</text>', drift)
    assert labels[0] == html.escape("a<b>&c") and labels[-1] == "x1"
    assert "On 2025-06-01: 3 of 4 features drift (by the model&#x27;s drift thresholds)" in drift


def test_drift_summary_counts_by_the_spec_status_as_the_cells_are_coloured(db, tmp_path):
    """A spec with higher thresholds: its status says stable where the usual bands say drift."""
    with duckdb.connect(str(db)) as con:
        con.execute("update ml_toy__feature_drift set status = 'stable'")
    drift = _section(_write(db, tmp_path), "feature-drift")
    assert "On 2025-06-01: 0 of 4 features drift" in drift
    assert set(re.findall(r'data-band="(\w+)"', drift)) == {"stable"}


def test_threshold_table_marks_the_registered_threshold(db, tmp_path):
    evaluation = _section(_write(db, tmp_path), "evaluation-curves")
    rows = re.findall(r'<tr class="registered"><td class="num">([^<]+)</td>', evaluation)
    assert rows == ["0.350"]
    assert "registered threshold 0.35" in evaluation
    shown = len(re.findall(r"<tr(?: class=\"registered\")?><td class=\"num\">0\.\d+</td>",
                           evaluation))
    assert 15 <= shown <= 25  # a readable subset of the 99 rows
    # which threshold the spec's policy chose (on the model fitted on train), and why
    assert ("The spec chose 0.300 when the model fitted on train was evaluated: threshold policy "
            "max_f1: the highest F1.") in evaluation
    assert re.search(r"<td>[^<]*chosen by the spec&#x27;s policy[^<]*</td>", evaluation)
    assert "counted on the 200 valid rows" in evaluation


def test_retrain_rows_recommended_are_highlighted(db, tmp_path):
    retrain = _section(_write(db, tmp_path), "retrain-signal")
    rows = re.findall(r'<tr( class="fail-error")?><td class="date">([^<]+)</td><td>(yes|no)</td>',
                      retrain)
    # One row per as_of; only the recommended one (the latest) is highlighted.
    assert rows == [(' class="fail-error"' if i == len(AS_OF) - 1 else "", f"{d:%Y-%m-%d}",
                     "yes" if i == len(AS_OF) - 1 else "no") for i, d in enumerate(AS_OF)]
    assert ("retraining recommended</span> on 2025-06-01, the latest as_of_date: "
            "tier-1 drift: x2 (PSI 0.32)") in retrain


def test_missing_or_empty_monitoring_tables_are_not_available_yet(tmp_path):
    db = build_warehouse(tmp_path / "wh.duckdb", monitoring=False)
    with duckdb.connect(str(db)) as con:
        con.execute("delete from ml_toy__feature_drift")
        con.execute("drop table ml_evaluation__importances")
    page = _write(db, tmp_path / "out")
    for anchor, table in [("prediction-drift", "ml_toy__prediction_drift"),
                          ("realised-performance", "ml_toy__realised_performance"),
                          ("retrain-signal", "ml_toy__retrain_signal")]:
        section = _section(page, anchor)
        assert f"not available yet: <code>main.{table}</code> does not exist" in section
        assert "<svg" not in section
    assert ("not available yet: <code>main.ml_toy__feature_drift</code> has no rows for this "
            "version") in _section(page, "feature-drift")
    assert "not available yet: <code>main.ml_evaluation__importances</code>" in page
    assert 'aria-label="ROC curve"' in page  # the tables that exist still show


def test_tables_without_the_columns_read_are_not_available_yet(db, tmp_path):
    with duckdb.connect(str(db)) as con:
        con.execute("alter table ml_toy__prediction_drift drop column psi")
    page = _write(db, tmp_path, as_of_column="snapshot_date")
    assert ("not available yet: <code>main.ml_toy__prediction_drift</code> has no column "
            "snapshot_date, psi") in page
    for anchor in ["feature-drift", "realised-performance", "retrain-signal"]:
        assert "has no column snapshot_date." in _section(page, anchor)
    assert 'aria-label="ROC curve"' in page


def test_regression_skips_the_classifier_charts(db, tmp_path):
    page = _write(db, tmp_path, model="toy_reg")
    assert "ROC curve" not in page and '<table class="confusion">' not in page
    assert "this is a regression model" in page
    assert "Threshold</th>" not in page  # no decision threshold row in the header
    realised = _section(page, "realised-performance")
    assert 'aria-label="Realised rmse"' in realised
    assert "test rmse 0.9" in realised
    assert "<th>roc_auc</th>" not in realised  # all-null columns are left out


def test_text_is_escaped_and_nothing_is_loaded_from_outside(db, tmp_path):
    page = _write(db, tmp_path)
    assert "<script" not in page.lower()
    assert html.escape(HOSTILE_REASON) in page
    assert "a<b>&c" not in page and "a&lt;b&gt;&amp;c" in page
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page.lower() and "@import" not in page and "url(" not in page
    assert "<img" not in page.lower() and "src=" not in page


def test_version_default_explicit_and_unknown(db, tmp_path):
    with duckdb.connect(str(db)) as con:
        assert "version <code>v1</code>" in model_page.render_model_report(con, "toy", "v1")
        con.execute("update ml_model_registry set status = 'retired' where model_version = 'v2'")
        # Without a champion, the version trained last.
        assert "version <code>v1</code>" in model_page.render_model_report(con, "toy")
        with pytest.raises(ValueError, match="no version 'v9'"):
            model_page.render_model_report(con, "toy", "v9")
        with pytest.raises(ValueError, match=r"not in main\.ml_model_registry"):
            model_page.render_model_report(con, "nope")
        with pytest.raises(ValueError, match="plain name"):
            model_page.write_model_report(con, "toy", tmp_path, version="../../etc")


def test_v1_without_evaluation_rows_still_renders(db, tmp_path):
    page = _write(db, tmp_path, version="v1")
    assert 'class="badge rejected"' in page
    assert page.count("has no rows for this version") == 13  # 5 evaluation + 4 comparison + 4 monitoring


def test_other_schema_and_missing_registry(tmp_path):
    db = build_warehouse(tmp_path / "wh.duckdb", schema="analytics")
    page = _write(db, tmp_path / "out", schema="analytics")
    assert "<code>analytics</code>" in page and NOT_AVAILABLE not in page
    with duckdb.connect(str(db), read_only=True) as con, pytest.raises(
            ValueError, match=r"no table main\.ml_model_registry"):
        model_page.render_model_report(con, "toy")


def test_write_is_atomic(db, tmp_path, monkeypatch):
    out = tmp_path / "reports"
    first = _write(db, out)
    _write(db, out)
    folder = out / "toy"
    assert [p.name for p in folder.iterdir()] == ["v2.html"]

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", broken)
    with duckdb.connect(str(db)) as con:
        con.execute("update ml_model_registry set reason = 'changed'")
        with pytest.raises(OSError, match="disk full"):
            model_page.write_model_report(con, "toy", out)
    assert [p.name for p in folder.iterdir()] == ["v2.html"]
    assert (folder / "v2.html").read_text() == first


def test_cli_report_writes_and_prints_the_path(db, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["report", "toy", "--db", str(db), "--out", str(out), "--version", "v1"]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out / 'toy' / 'v1.html'}"
    assert cli.main(["report", "nope", "--db", str(db), "--out", str(out)]) == 2
    assert "not in main.ml_model_registry" in capsys.readouterr().err
    assert cli.main(["report", "toy", "--db", str(tmp_path / "none.duckdb")]) == 1


def test_heatmap_cells_follow_the_specs_status_over_the_usual_bands():
    # A spec with drift at 0.12: its status says drift where the usual bands say moderate.
    cell = model_monitoring._heatmap_cell({"psi": 0.15, "status": "drift"}, "x", "2024-01-01",
                                      0, 0, 40, 20)
    assert 'data-band="drift"' in cell
    usual = model_monitoring._heatmap_cell({"psi": 0.15}, "x", "2024-01-01", 0, 0, 40, 20)
    assert 'data-band="moderate"' in usual
