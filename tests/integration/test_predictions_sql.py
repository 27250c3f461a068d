"""The predictions macro on scores built to test it: ranks, capacity, selection and bands.

A throwaway dbt project adopts the mlmodels dbt package and runs `predictions` over a scores
table written here, with ties at the capacity's edge, a challenger scored under the old word
(`shadow`), a share, a capacity larger than the population, no capacity, and a regression model.
The expected rows are written out by hand.
"""

import textwrap

import duckdb
import pandas as pd
import pytest
from dbt.cli.main import dbtRunner

from tests.integration.helpers import REPO, failures, throwaway_project

pytestmark = pytest.mark.slow

A, B = pd.Timestamp("2024-03-01"), pd.Timestamp("2024-04-01")
# v1 at A: three rows tie at 0.7 across the edge of a capacity of 3; the entity ids are not in
# score order, and 10 sorts after 9 (numerically) where a text sort would put it first.
V1_A = {10: 0.7, 2: 0.9, 9: 0.7, 4: 0.2, 5: 0.1, 6: 0.5, 3: 0.7}
V1_B = {1: 0.3, 2: 0.8, 3: 0.3}
V2_A = {2: 0.1, 3: 0.95, 4: 0.6}  # a challenger, written before 'challenger' was the word


def _scores() -> pd.DataFrame:
    rows = [("v1", "champion", A, e, s) for e, s in V1_A.items()]
    rows += [("v1", "champion", B, e, s) for e, s in V1_B.items()]
    rows += [("v2", "shadow", A, e, s) for e, s in V2_A.items()]
    frame = pd.DataFrame(rows, columns=["model_version", "role", "as_of_date", "entity_id",
                                        "score"])
    # the reason codes a scores table always carries (null without explain.top_k)
    reasons = frame.entity_id.map(lambda e: f"x high (+{e})")
    return frame.assign(model_name="lab", threshold=0.6,
                        predicted_label=(frame.score >= 0.6).astype(int), backfill=False,
                        scored_at=pd.Timestamp("2024-05-01"), reasons=reasons,
                        reason_features=frame.entity_id.map(lambda _: ["x"]),
                        reason_contributions=frame.entity_id.map(lambda e: [float(e)]))


def _call(**capacity) -> str:
    args = "".join(f", {k}={v}" for k, v in capacity.items())
    return ("{{ mlmodels.predictions(scores=source('lab', 'scores'), "
            "training_set=source('lab', 'rows'), entity_key='entity_id', as_of='as_of_date', "
            f"attributes=['colour']{args}) }}}}")


MODELS = {
    "by_count": _call(capacity=3),
    "by_share": _call(capacity_share=0.25),
    "above_population": _call(capacity=1000),
    "no_capacity": _call(),
    "regression": _call(capacity=2).replace("'scores'", "'regression_scores'"),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("predictions")
    db = root / "warehouse.duckdb"
    scores = _scores()
    rows = scores[["entity_id", "as_of_date"]].drop_duplicates().assign(colour="red")
    regression = scores[scores.model_version == "v1"].assign(
        threshold=None, predicted_label=None, score=lambda f: 100 * f.score)
    with duckdb.connect(str(db)) as con:
        con.execute("create schema lab")
        for name, frame in {"scores": scores, "rows": rows,
                            "regression_scores": regression}.items():
            con.register("frame", frame)
            con.execute(f"create table lab.{name} as select * from frame")
            con.unregister("frame")
    project = throwaway_project(root, "lab", REPO / "mlmodels" / "dbt")
    (project / "models" / "sources.yml").write_text(textwrap.dedent("""\
        sources:
          - name: lab
            schema: lab
            tables: [{name: scores}, {name: rows}, {name: regression_scores}]
        """))
    for name, sql in MODELS.items():
        (project / "models" / f"{name}.sql").write_text(sql + "\n")
    env = pytest.MonkeyPatch()
    env.setenv("DUCKDB_PATH", str(db))
    try:
        common = ["--project-dir", str(project), "--profiles-dir", str(REPO), "--quiet"]
        assert dbtRunner().invoke(["deps", *common]).success
        result = dbtRunner().invoke(["run", *common])
        assert result.success, failures(result)
    finally:
        env.undo()
    with duckdb.connect(str(db)) as con:
        return {name: con.sql(f"select * from main.{name} order by model_version, as_of_date, "
                              "score_rank").df() for name in MODELS}


def _rows(frame, version="v1", as_of=A):
    part = frame[(frame.model_version == version) & (frame.as_of_date == as_of)]
    return [tuple(r) for r in part[["entity_id", "score_rank", "is_selected", "risk_band",
                                    "decision_capacity"]].itertuples(index=False)]


def test_the_top_capacity_rows_are_selected_and_ties_go_by_entity_key(built):
    # 0.9 first; the three 0.7s by entity id (3, 9, 10): 10 is the tie left out
    assert _rows(built["by_count"]) == [
        (2, 1, True, "high", 3), (3, 2, True, "high", 3), (9, 3, True, "high", 3),
        (10, 4, False, "medium", 3), (6, 5, False, "medium", 3), (4, 6, False, "medium", 3),
        (5, 7, False, "low", 3)]
    # each version and as_of is ranked on its own; the old word reads as the registry's
    assert _rows(built["by_count"], as_of=B) == [
        (2, 1, True, "high", 3), (1, 2, True, "high", 3), (3, 3, True, "high", 3)]
    challenger = built["by_count"][built["by_count"].model_version == "v2"]
    assert set(challenger.role) == {"challenger"} and list(challenger.entity_id) == [3, 4, 2]
    assert set(built["by_count"][built["by_count"].model_version == "v1"].role) == {"champion"}
    assert set(built["by_count"].colour) == {"red"}
    # each row keeps its own reasons
    frame = built["by_count"]
    assert (frame.reasons == frame.entity_id.map(lambda e: f"x high (+{e})")).all()
    assert (frame.reason_contributions.map(list) == frame.entity_id.map(lambda e: [float(e)])).all()


def test_a_share_is_rounded_up_to_whole_rows(built):
    # ceil(0.25 * 7) = 2 at A, ceil(0.25 * 3) = 1 at B
    assert [r[:3] for r in _rows(built["by_share"])][:3] == [(2, 1, True), (3, 2, True),
                                                             (9, 3, False)]
    assert _rows(built["by_share"], as_of=B)[0][-1] == 1
    assert built["by_share"].is_selected.sum() == 2 + 1 + 1


def test_a_capacity_above_the_population_selects_every_row_once(built):
    frame = built["above_population"]
    assert frame.is_selected.all() and (frame.risk_band == "high").all()
    assert dict(frame.groupby(["model_version", "as_of_date"]).decision_capacity.max()) == {
        ("v1", A): 7, ("v1", B): 3, ("v2", A): 3}


def test_without_a_capacity_the_threshold_decides_and_bands_follow_it(built):
    frame = built["no_capacity"]
    assert frame.decision_capacity.isna().all()
    assert (frame.is_selected == (frame.score >= 0.6)).all()
    assert (frame.risk_band == frame.score.ge(0.6).map({True: "high", False: "low"})).all()


def test_a_regression_model_is_ranked_by_its_predicted_value(built):
    assert [r[:3] for r in _rows(built["regression"])][:3] == [(2, 1, True), (3, 2, True),
                                                               (9, 3, False)]
