"""The comparison sections of the model page on a small warehouse with three versions: realised
metrics on the rows every compared version scored equal sklearn's, the winner is named, and a
model without the new tables keeps its "not available yet" notes."""

import html
import re

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from mlmodels.reports import model_comparison, model_page
from tests.unit import charts

DATES = pd.date_range("2025-01-01", periods=4, freq="MS")
ENTITIES = range(300)


def _registry(version: str, status: str, trained: str, promoted: str | None) -> dict:
    return {"model_name": "toy", "model_version": version, "status": status, "reason": "r",
            "trained_at": pd.Timestamp(trained),
            "promoted_at": pd.Timestamp(promoted) if promoted else pd.NaT,
            "task": "binary_classification", "categorical_features": '["colour"]',
            "numeric_features": '["x1"]', "selection_metric": "roc_auc", "threshold": 0.5,
            "test_from": pd.Timestamp("2024-10-01"), "test_to": pd.Timestamp("2024-12-01"),
            "test_rows": 600}


@pytest.fixture
def warehouse(tmp_path):
    rng = np.random.default_rng(3)
    mart = pd.DataFrame([(e, d) for d in DATES for e in ENTITIES],
                        columns=["entity_id", "as_of_date"])
    mart["colour"] = rng.choice(["red", "green", "blue"], size=len(mart))
    mart["churned"] = (rng.random(len(mart)) < 0.3).astype(int)
    mart["is_label_mature"] = mart["as_of_date"] < DATES[-1]  # the last month is not
    noise = {"v1": 2.0, "v2": 1.0, "v3": 0.5}  # v3 scores best
    dates = {"v1": DATES[:2], "v2": DATES, "v3": DATES[2:]}  # v1 before v3 scored at all
    scores = []
    for version, spread in noise.items():
        rows = mart[mart["as_of_date"].isin(dates[version])]
        score = 1 / (1 + np.exp(-(rows["churned"] * 2 - 1 + rng.normal(0, spread, len(rows)))))
        scores.append(pd.DataFrame({
            "model_name": "toy", "model_version": version,
            "role": "champion" if version == "v2" else "shadow",
            "entity_id": rows["entity_id"], "as_of_date": rows["as_of_date"],
            "score": score, "threshold": 0.5}))
    tables = {
        "ml_model_registry": pd.DataFrame([
            _registry("v1", "retired", "2024-12-01", "2024-12-02"),
            _registry("v2", "champion", "2025-01-15", "2025-01-16"),
            _registry("v3", "challenger", "2025-03-15", None)]),
        "ml_model_specs": pd.DataFrame([{"model_name": "toy", "target": "churned",
                                         "entity_key": "entity_id",
                                         "training_set": "ml_toy__training_set"}]),
        "ml_toy__training_set": mart,
        "ml_toy__scores": pd.concat(scores, ignore_index=True),
        "ml_evaluation__metrics": pd.DataFrame([
            {"model_name": "toy", "model_version": v, "model": "model", "split": "test",
             "metric": "roc_auc", "value": auc} for v, auc in (("v1", 0.7), ("v2", 0.75),
                                                               ("v3", 0.8))]),
    }
    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path)) as con:
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f"create table {name} as select * from frame")
            con.unregister("frame")
    return path, tables


def _section(page: str, anchor: str) -> str:
    return page.split(f'id="{anchor}"')[1].split("<h2")[0]


def _rows(table_html: str) -> list[list[str]]:
    rows = [[html.unescape(c) for c in re.findall(r"<td[^>]*>([^<]*)</td>", row)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table_html)]
    return [row for row in rows if row]


def test_versions_are_compared_on_the_rows_they_all_scored(warehouse):
    path, tables = warehouse
    with duckdb.connect(str(path), read_only=True) as con:
        page = model_page.render_model_report(con, "toy")  # the champion, v2
    versions = _section(page, "versions")
    assert "v2 (champion, this page), v3 (challenger), v1 (previous champion)" in versions
    realised = versions.split("Realised on the same rows")[1]
    # v1 scored January and February, v3 March and April: v1 shares no row with v2 and v3
    assert "Left out, no row in common with the others: v1." in realised
    assert "as_of_date 2025-03-01 to 2025-03-01 (1 dates)" in realised
    scores, mart = tables["ml_toy__scores"], tables["ml_toy__training_set"]
    joined = scores.merge(mart, on=["entity_id", "as_of_date"])
    common = joined[joined["is_label_mature"] & (joined["as_of_date"] == DATES[2])]
    got = {row[0]: row[1:] for row in _rows(realised)}
    expected = {}
    for version in ("v2", "v3"):
        mine = common[common["model_version"] == version]
        expected[version] = (roc_auc_score(mine["churned"], mine["score"]),
                             average_precision_score(mine["churned"], mine["score"]))
    assert got["roc_auc"][:2] == [f"{expected['v2'][0]:.3f}", f"{expected['v3'][0]:.3f}"]
    assert got["pr_auc"][:2] == [f"{expected['v2'][1]:.3f}", f"{expected['v3'][1]:.3f}"]
    assert got["roc_auc"][2] == "v3" and got["actual_rate"][2] == ""
    # the test metrics each recorded, each on its own test window
    test = versions.split("Test metrics each version recorded")[1].split("Realised")[0]
    assert {row[0]: row[1:] for row in _rows(test)}["roc_auc"] == [
        "0.750", "0.800", "0.700", "v3"]


def test_realised_segments_equal_sklearn_on_the_filtered_rows(warehouse):
    path, tables = warehouse
    with duckdb.connect(str(path), read_only=True) as con:
        page = model_page.render_model_report(con, "toy", version="v3")
    segments = _section(page, "segments").split("On realised labels")[1]
    joined = tables["ml_toy__scores"].merge(tables["ml_toy__training_set"],
                                            on=["entity_id", "as_of_date"])
    mine = joined[joined["is_label_mature"] & (joined["model_version"] == "v3")]
    assert f"The {len(mine)} scores of this version" in segments
    for row in _rows(segments):
        part = mine[mine["colour"] == row[0]]
        assert row[1:3] == [f"{len(part):,}", f"{part['churned'].sum():,}"]
        assert row[5] == f"{roc_auc_score(part['churned'], part['score']):.3f}"
    # the test-split tables are not there: a note, not an error
    assert "not available yet: <code>main.ml_evaluation__segments</code> does not exist" in page
    assert "not available yet: <code>main.ml_evaluation__lift</code> does not exist" in page
    assert "not available yet: <code>main.ml_evaluation__candidates</code> does not exist" in page
    assert not set(charts.svgs(_section(page, "gains")))


def test_metric_helpers_equal_sklearn_and_the_winner_needs_a_margin():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 500)
    scores = np.round(rng.random(500), 2)  # ties
    assert model_comparison.roc_auc(labels, scores) == pytest.approx(
        roc_auc_score(labels, scores))
    assert model_comparison.average_precision(labels, scores) == pytest.approx(
        average_precision_score(labels, scores))
    assert np.isnan(model_comparison.roc_auc(np.ones(3), np.arange(3)))
    assert model_comparison.winner("roc_auc", {"a": 0.8, "b": 0.7}) == "a"
    assert model_comparison.winner("rmse", {"a": 10.0, "b": 9.0}) == "b"
    assert model_comparison.winner("roc_auc", {"a": 0.8, "b": 0.80001}) == ""
    assert model_comparison.winner("actual_rate", {"a": 0.1, "b": 0.2}) == ""
