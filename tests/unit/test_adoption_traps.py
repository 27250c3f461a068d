"""Each trap a new user hit at first contact, checked before minutes of work, with the fix named."""

import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from mlmodels import checks, cli, scaffold
from mlmodels.learn import training
from mlmodels.serve.promotion import train_and_register
from mlmodels.spec import specs
from tests.unit.toy import SPEC


def spec_with(**extra) -> specs.ModelSpec:
    return specs.from_dict({**SPEC, **extra})


def test_an_exclude_pattern_that_matches_nothing_is_an_error(rows):
    spec = spec_with(features={"numeric": {"include": ["x*"], "exclude": ["x9"]}})
    with pytest.raises(specs.SpecError, match="exclude pattern 'x9' matches none"):
        spec.resolve(list(rows.columns))


def test_cosmetic_fields_make_no_new_version():
    base = spec_with(description="one", problem={"decision": "who to call"})
    edited = spec_with(description="two", problem={"decision": "whom we call first"})
    assert base.fingerprint() == edited.fingerprint()
    assert spec_with(random_state=1).fingerprint() != base.fingerprint()


def test_a_text_column_listed_as_numeric_names_the_column_and_the_fix(rows):
    rows = rows.assign(x2=rows.x2.astype(object).where(rows.index % 50 != 0, " "))
    with pytest.raises(training.TrainingDataError, match=r"feature 'x2'.*try_cast"):
        training.prepare(rows, spec_with())


def test_unlabelled_snapshot_rows_are_left_out_of_training(rows):
    snapshot = rows[rows.as_of_date == rows.as_of_date.max()].drop(columns=["as_of_date",
                                                                            "split"])
    snapshot = pd.concat([snapshot] * 6, ignore_index=True).assign(
        entity_id=lambda f: np.arange(len(f)))
    snapshot.loc[snapshot.index % 10 == 0, "label"] = np.nan
    spec = spec_with(as_of=None)
    _, labelled, strategy = training.prepare(snapshot, spec)
    assert strategy == "stratified_random" and labelled.label.notna().all()
    assert len(labelled) == snapshot.label.notna().sum()


def relation(frame: pd.DataFrame):
    con = duckdb.connect()
    con.register("frame", frame)
    return con.table("frame")


def test_preflight_names_a_short_signing_key(rows, monkeypatch):
    monkeypatch.setenv("MLMODELS_SIGNING_KEY", "short")
    with pytest.raises(checks.PreflightError, match=r"signing_key.*MLMODELS_SIGNING_KEY"):
        checks.preflight(relation(rows), spec_with())


def test_preflight_names_cv_folds_that_cannot_fit_the_as_of_grid(rows):
    spec = spec_with(search={"cv_folds": 10}, split={"embargo_days": 60})
    with pytest.raises(checks.PreflightError, match=r"cv_folds: search.cv_folds: 10.*cv_folds: 0"):
        checks.preflight(relation(rows), spec)
    assert all(r["passed"] for r in checks.preflight(relation(rows), spec_with()))


def test_preflight_names_text_features_and_null_labels(rows):
    text = rows.assign(x2=rows.x2.astype(str))
    with pytest.raises(checks.PreflightError, match=r"feature_types: feature\(s\) \['x2'\]"):
        checks.preflight(relation(text), spec_with())
    unlabelled = rows.assign(label=rows.label.astype(float).where(rows.index != 3))
    with pytest.raises(checks.PreflightError, match="labels: column 'label' is null on 1"):
        checks.preflight(relation(unlabelled), spec_with())


def test_hostile_identifiers_are_refused_when_the_spec_loads():
    for field, value in [("target", "x) ; drop table raw.events; --"), ("entity_key", "a b"),
                         ("name", "toy;"), ("as_of", "d'"), ("training_set", "t /* */")]:
        with pytest.raises(specs.SpecError, match=rf"field '{field}'.*plain SQL identifier"):
            spec_with(**{field: value})
    with pytest.raises(specs.SpecError, match=r"features\.numeric\[0\]"):
        spec_with(features={"numeric": ["x1 + 1"]})
    with pytest.raises(specs.SpecError, match="write `as_of: null`"):
        spec_with(as_of="None")


def test_a_misspelled_field_gets_a_did_you_mean():
    with pytest.raises(specs.SpecError, match="did you mean 'candidates'"):
        specs.from_dict({**SPEC, "candidtes": []})


def test_the_first_champion_reason_names_only_what_the_spec_asked(rows, tmp_path):
    frame = train_and_register(rows, spec_with(), tmp_path)
    assert frame.reason[0] == (
        "first version of the model: no success criterion, rule or constraint in the spec")


def test_a_non_negative_target_gets_no_negative_prediction(rows):
    rows = rows.assign(spend=np.where(rows.x1 > 1, rows.x1 * 10, 0.0))
    raw = {"name": "toy_spend", "target": "spend", "entity_key": "entity_id",
           "task": "regression", "features": {"numeric": ["x1", "x2"]},
           "search": {"cv_folds": 2}, "candidates": [{"name": "linear_regression"}]}
    clipped = training.fit(rows, specs.from_dict({**raw, "non_negative": True}))
    assert clipped.pipeline.predict(rows[["x1", "x2"]]).min() == 0.0
    plain = training.fit(rows, specs.from_dict(raw))
    assert plain.pipeline.predict(rows[["x1", "x2"]]).min() < 0  # what the clip prevents


def test_after_a_retrain_on_signal_the_fit_window_moves_forward(rows, tmp_path):
    spec = spec_with(monitoring={"retrain_on_signal": True})
    early = rows[rows.as_of_date < "2024-11-01"].copy()
    early["split"] = np.select([early.as_of_date.dt.month <= 5, early.as_of_date.dt.month == 7],
                               ["train", "valid"], default="test")
    early.loc[early.as_of_date.dt.month.isin([6, 8]), "split"] = "embargo"
    first = train_and_register(early, spec, tmp_path)
    quiet = train_and_register(rows, spec, tmp_path, signal={"retrain_recommended": False})
    assert quiet.model_version.tolist() == first.model_version.tolist()  # quiet: nothing trained
    loud = train_and_register(rows, spec, tmp_path,
                              signal={"retrain_recommended": True, "reasons": "drift"})
    assert len(loud) == 2
    assert loud.fit_to.max() > first.fit_to.max()
    assert str(loud.fit_to.max()) == "2024-12-01"


def test_init_writes_the_selectors_and_merges_them_into_a_file(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: p\n")
    scaffold.init(project)
    text = (project / "selectors.yml").read_text()
    assert "name: daily_scoring" in text and "name: retrain" in text
    other = tmp_path / "q"
    other.mkdir()
    (other / "dbt_project.yml").write_text("name: q\n")
    (other / "selectors.yml").write_text(
        "selectors:\n  - name: nightly  # ours\n    definition: {method: tag, value: x}\n")
    done = scaffold.init(other)
    merged = (other / "selectors.yml").read_text()
    assert "# ours" in merged and "name: retrain" in merged and any("selectors" in d for d in done)
    assert scaffold.init(other) == []  # idempotent


def test_generated_models_are_tables_and_gates_carry_the_ml_tag(tmp_path):
    spec = specs.load(scaffold.Path(__file__).parents[2] / "dbt_project" / "ml" / "churn.yml")
    files = scaffold.render(spec)
    properties = files["models/ml/churn/_ml_churn.yml"]
    assert properties.count("materialized: table") >= 5
    gate = files["models/quality/_dq_ml_churn__training_set.yml"]
    assert "tags: [ml, quality]" in gate
    assert 'dbt.ref("ml_churn__preflight")' in files["models/quality/dq_ml_churn__training_set.py"]


def test_the_cli_agrees_with_itself(tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.startswith("mlmodels ")
    project = tmp_path / "p"
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: p\n")
    monkeypatch.setenv("DBT_PROJECT_DIR", str(project))
    monkeypatch.setenv("DUCKDB_PATH", str(tmp_path / "absent.duckdb"))
    assert cli.main(["init"]) == 0  # --project from DBT_PROJECT_DIR
    assert (project / "selectors.yml").is_file()
    assert cli.main(["summary"]) == 1  # --db from DUCKDB_PATH
    assert "absent.duckdb" in capsys.readouterr().err


def test_summary_reads_a_registry_without_a_rule(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create table ml_model_registry as select 'm' as model_name, 'v1' as "
                    "model_version, 'champion' as status, now() as trained_at, 'roc_auc' as "
                    "selection_metric, 0.8 as test_score, 0.5 as baseline_prior_test_score, "
                    "cast(null as double) as baseline_rule_test_score")
    assert cli.main(["summary", "--db", str(db)]) == 0
    assert "no rule" in capsys.readouterr().out


def test_new_writes_a_snapshot_model_without_none(tmp_path):
    project = tmp_path / "p"
    (project / "ml").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: p\nvars:\n  ml_models: []\n")
    (project / "ml" / "bank.yml").write_text(
        "name: bank\nas_of: null\nentity_key: customer_id\ntarget: exited\n"
        "snapshot: {mart: customers, score_where: 'exited = 0'}\n"
        "features: {numeric: [age]}\n")
    written = scaffold.write(project, "bank")
    texts = {p.name: p.read_text() for p in written}
    # Python's None belongs in the .py files; in SQL and YAML it is a spec value gone wrong.
    assert not any("None" in t for name, t in texts.items() if not name.endswith(".py"))
    assert "unique_key: snapshot_date" in texts["_ml_bank.yml"]
    assert "snapshot_training_set" in texts["ml_bank__training_set.sql"]


@pytest.mark.parametrize("payload", [
    "1) as x from raw.events; drop table raw.events; select (1",
    "days > 1; drop table raw.customers",
    "x > 1 -- and the rest",
    "x > 1 /* comment */",
    "(x > 1",
    "name = 'unterminated",
])
def test_sql_expression_fields_cannot_leave_their_expression(payload):
    for field, raw in [("problem.rule_baseline", {"problem": {"rule_baseline": payload}}),
                       ("snapshot.score_where", {"as_of": None,
                                                 "snapshot": {"score_where": payload}})]:
        with pytest.raises(specs.SpecError, match=rf"field '{re.escape(field)}'.*one SQL"):
            spec_with(**raw)
    # Quotes and parentheses inside an expression are fine.
    spec_with(problem={"rule_baseline": "coalesce(x1, 0) > 1 and colour in ('a;b', 'it''s')"})
