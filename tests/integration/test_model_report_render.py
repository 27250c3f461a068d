"""The model reports of the session's built demo: written from its warehouse, every chart read
back equal to the tables it was drawn from; and rendered in headless Chromium to a real page.

Only the screenshots need Chromium (marked ``needs_chromium``). Outside CI they skip when no
binary is on PATH; in CI (``CI=true``) they run, and fail without one: ``.ci/run`` installs
Debian's chromium. The reports are written and checked from the shared built world on every run.
"""

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from mlmodels.reports import model_page
from tests.unit import charts
from tests.unit.test_model_report import build_warehouse

CHROMIUM = next((found for name in ("chromium", "chromium-browser", "google-chrome")
                 if (found := shutil.which(name))), None)
WIDTH, HEIGHT = 1400, 4000
MODELS = ("churn", "spend")

pytestmark = pytest.mark.slow

NO_CHROMIUM = "no chromium binary on PATH (apt-get install chromium): no screenshot taken"
# CI installs Chromium (.ci/run), so there a missing binary fails the screenshot, never skips it
skip_without_chromium = pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true",
                                           reason=NO_CHROMIUM)


@pytest.fixture(scope="module")
def reports(built, tmp_path_factory) -> dict[str, Path]:
    """The report of each model's default version, written from the built warehouse."""
    out = tmp_path_factory.mktemp("reports")
    with duckdb.connect(str(built.db)) as con:  # (as Warehouse.sql: dbt may hold the file)
        return {name: model_page.write_model_report(con, name, out) for name in MODELS}


@pytest.fixture(scope="module")
def champions(built) -> dict[str, str]:
    rows = built.sql("select model_name, model_version from ml_model_registry"
                     " where status = 'champion'")
    return dict(zip(rows.model_name, rows.model_version, strict=True))


def versions_rows(built, table: str, name: str, version: str, order: str = "") -> pd.DataFrame:
    """The rows of one version in a table, in the order the report reads them."""
    return built.sql(f"select * from {table} where model_name = '{name}' and model_version ="
                     f" '{version}' {order}")


def section(page: str, anchor: str) -> str:
    return page.split(f'id="{anchor}"')[1].split("<h2")[0]


def test_each_champion_gets_its_report_with_only_the_expected_gaps(reports, champions):
    assert set(champions) == set(MODELS)
    for name, version in champions.items():
        path = reports[name]
        assert (path.parent.name, path.name) == (name, f"{version}.html")
        page = path.read_text()
        assert f"version <code>{version}</code>" in page and 'class="badge champion"' in page
        gaps = re.findall(r'<p class="na">not available yet: <code>main\.(\w+)</code> ([^<]+)</p>',
                          page)
        # churn is refitted on every matured label, so nothing it scored has matured yet.
        assert gaps == ([("ml_churn__realised_performance", "has no rows for this version.")]
                        if name == "churn" else []), name
    assert set(charts.svgs(reports["churn"].read_text())) == {
        "ROC curve", "Precision-recall curve", "Calibration", "Permutation importance",
        "Feature drift heatmap", "Prediction drift", "Cumulative gain", "Lift by decile",
        "Learning curve (pr_auc)"}
    assert set(charts.svgs(reports["spend"].read_text())) == {
        "Permutation importance", "Feature drift heatmap", "Prediction drift", "Realised rmse",
        "Learning curve (rmse)", "Predicted against actual", "Residual by decile"}


def test_the_gain_and_lift_charts_are_the_lift_table(built, reports, champions):
    lift = versions_rows(built, "ml_evaluation__lift", "churn", champions["churn"],
                         "and split = 'test' order by decile")
    assert list(lift.decile) == list(range(1, 11))
    drawn = charts.svgs(reports["churn"].read_text())
    [(_, gain)] = charts.lines(drawn["Cumulative gain"]).items()
    # from the origin, one point per decile: (share of rows, share of positives captured)
    np.testing.assert_allclose(gain[1:], np.c_[lift.decile / 10, lift.cumulative_gain],
                               atol=2e-3)
    [(_, bars)] = charts.lines(drawn["Lift by decile"]).items()
    np.testing.assert_allclose(bars, np.c_[lift.decile, lift.lift], atol=5e-3 * lift.lift.max())


def test_the_predicted_against_actual_chart_is_the_residuals_table(built, reports, champions):
    residuals = versions_rows(built, "ml_evaluation__residuals", "spend", champions["spend"],
                              "and split = 'test' order by decile")
    drawn = charts.svgs(reports["spend"].read_text())["Predicted against actual"]
    points = np.asarray(charts.lines(drawn)["decile means"])
    span = residuals.mean_actual.max() - residuals.mean_actual.min()
    np.testing.assert_allclose(points, residuals[["mean_prediction", "mean_actual"]].to_numpy(),
                               atol=5e-3 * span)


def test_the_curves_are_the_evaluation_table_of_the_champion(built, reports, champions):
    curves = versions_rows(built, "ml_evaluation__curves", "churn", champions["churn"])
    drawn = charts.svgs(section(reports["churn"].read_text(), "evaluation-curves"))
    for curve, name in [("roc", "ROC curve"), ("pr", "Precision-recall curve"),
                        ("calibration", "Calibration")]:
        series = charts.lines(drawn[name])
        assert list(series) == ["valid", "test"], name
        for split, points in series.items():
            rows = curves[(curves.curve == curve) & (curves.split == split)]
            assert len(rows) > 1, (curve, split)  # (a curve, not one point)
            np.testing.assert_allclose(points, rows[["x", "y"]].to_numpy(), atol=1e-3,
                                       err_msg=f"{name} {split}")


def test_the_confusion_matrices_are_the_champions_counts(built, reports, champions):
    evaluation = section(reports["churn"].read_text(), "evaluation-curves")
    confusion = versions_rows(built, "ml_evaluation__confusion", "churn", champions["churn"])
    threshold = built.sql("select threshold from ml_model_registry where model_name = 'churn'"
                          " and status = 'champion'").threshold[0]
    for split in ("valid", "test"):
        row = confusion[confusion.split == split].iloc[0]
        total = row.tp + row.fp + row.tn + row.fn
        caption = re.escape(f"{split} at threshold {row.threshold:.3f}")
        body = re.search(rf"<caption>{caption}</caption>(.*?)</table>", evaluation).group(1)
        assert re.findall(r'<td class="num">([^<]+)</td>', body) == [
            f"{n:,.0f} ({n / total:.1%})" for n in (row.tp, row.fn, row.fp, row.tn)]
    assert f"registered threshold {threshold:.3f}" in evaluation


def test_the_drift_charts_are_the_monitoring_tables(built, reports, champions):
    for name, version in champions.items():
        page = reports[name].read_text()
        drift = versions_rows(built, f"ml_{name}__feature_drift", name, version)
        heatmap = charts.svgs(section(page, "feature-drift"))["Feature drift heatmap"]
        cells = {}
        for g in heatmap.iter("g"):
            if g.get("class") == "cell":
                feature, date = re.match(r"(.+) on (\d{4}-\d\d-\d\d): PSI", charts.title(g)).groups()
                cells[feature, date] = g.find("text").text
        assert cells == {(r.feature, f"{r.as_of_date:%Y-%m-%d}"): f"{r.psi:.2f}"
                         for r in drift.itertuples()}, name
        bars = charts.bars(charts.svgs(section(page, "prediction-drift"))["Prediction drift"])
        psi = versions_rows(built, f"ml_{name}__prediction_drift", name, version,
                            "order by as_of_date")
        assert len(bars) == len(psi) >= 1, name
        np.testing.assert_allclose([b.top for b in bars], psi.psi, atol=2e-4)  # axis >= 0..0.24
        np.testing.assert_allclose([(b.left + b.right) / 2 for b in bars],
                                   [charts.day(d) for d in psi.as_of_date], atol=0.05)


def test_the_realised_chart_is_the_realised_performance_table(built, reports, champions):
    version = champions["spend"]
    realised = versions_rows(built, "ml_spend__realised_performance", "spend", version,
                             "order by as_of_date")
    chart = charts.svgs(section(reports["spend"].read_text(), "realised-performance"))[
        "Realised rmse"]
    [(series, points)] = charts.lines(chart).items()
    assert series == "rmse" and len(points) == len(realised) >= 3
    np.testing.assert_allclose([x for x, _ in points],
                               [charts.day(d) for d in realised.as_of_date], atol=0.05)
    span = realised.rmse.max() - realised.rmse.min()
    np.testing.assert_allclose([y for _, y in points], realised.rmse, atol=2e-3 * span)
    test = built.sql("select value from ml_evaluation__metrics where model_name = 'spend' and"
                     f" model_version = '{version}' and model = 'model' and split = 'test'"
                     " and metric = 'rmse'").value[0]
    [(label, at)] = charts.reference_lines(chart).items()
    assert label == f"test rmse {test:,.2f}" and at == pytest.approx(test, abs=2e-3 * span)


def screenshot(page: Path, png: Path) -> Path:
    """Screenshot a local HTML file with headless Chromium (its own profile folder).

    The background-networking flags keep Chromium from reaching for Google's hosts, which this
    offline machine refuses.
    """
    assert CHROMIUM is not None, f"CI: {NO_CHROMIUM} (.ci/run installs it)"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync",
         f"--user-data-dir={png.parent / 'chromium-profile'}", f"--screenshot={png}",
         f"--window-size={WIDTH},{HEIGHT}", page.resolve().as_uri()],
        check=True, capture_output=True, timeout=90,
    )
    return png


def png_facts(png: Path) -> tuple[int, int, int]:
    """Return the width, height and number of distinct byte values of a PNG's pixel data.

    No PIL needed. Measured with Chromium at 1400x4000: an empty page gives 4 distinct values
    in a 25 kB file, one line of text 170 in 27 kB, a model report all 256 in 300 kB or more.
    """
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    chunks, offset = [], 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind == b"IDAT":
            chunks.append(data[offset + 8:offset + 8 + length])
        offset += 12 + length
    pixels = np.frombuffer(zlib.decompress(b"".join(chunks)), dtype=np.uint8)
    return width, height, int(np.count_nonzero(np.bincount(pixels, minlength=256)))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.needs_chromium
@skip_without_chromium
def test_the_demo_reports_render_to_a_full_page(reports, name, tmp_path):
    width, height, distinct = png_facts(screenshot(reports[name], tmp_path / f"{name}.png"))
    assert (width, height) == (WIDTH, HEIGHT)
    assert distinct > 200 and (tmp_path / f"{name}.png").stat().st_size > 150_000


@pytest.mark.needs_chromium
@skip_without_chromium
def test_the_toy_report_renders_to_a_full_page(tmp_path):
    db = build_warehouse(tmp_path / "wh.duckdb")
    with duckdb.connect(str(db), read_only=True) as con:
        page = model_page.write_model_report(con, "toy", tmp_path / "reports")
    width, height, distinct = png_facts(screenshot(page, tmp_path / "toy.png"))
    assert (width, height) == (WIDTH, HEIGHT)
    assert distinct > 200 and (tmp_path / "toy.png").stat().st_size > 150_000
