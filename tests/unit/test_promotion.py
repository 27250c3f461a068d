import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlmodels.serve import registry, scoring
from mlmodels.serve.promotion import train_and_register
from mlmodels.spec import specs
from tests.unit.toy import SPEC

GOOD = {"numeric": ["x1", "x2"], "categorical": ["colour"]}
WEAK = {"numeric": ["x2"]}  # noise only: ROC AUC near 0.5


def spec_with(features, **extra):
    return specs.from_dict({**SPEC, "features": features, **extra})


def statuses(frame: pd.DataFrame) -> dict[str, str]:
    return dict(zip(frame.model_version, frame.status, strict=True))


def test_first_version_becomes_champion(rows, tmp_path):
    frame = train_and_register(rows, spec_with(GOOD), tmp_path)
    assert frame.status.tolist() == ["champion"]
    assert frame.reason[0].startswith("first version")
    assert frame.promoted_at.notna().all()


def test_better_version_replaces_the_champion_and_retires_it(rows, tmp_path):
    weak = train_and_register(rows, spec_with(WEAK), tmp_path).model_version[0]
    frame = train_and_register(rows, spec_with(GOOD, promotion={"margin": 0.05}), tmp_path)
    good = next(v for v in frame.model_version if v != weak)
    assert statuses(frame) == {weak: "retired", good: "champion"}
    reason = frame.set_index("model_version").reason[good]
    assert "beats the champion by at least 0.05" in reason and weak in reason
    history = registry.ModelRegistry(tmp_path, "toy").history()
    assert [(h["model_version"], h["from_status"], h["to_status"]) for h in history] == [
        (weak, None, "champion"), (weak, "champion", "retired"), (good, None, "champion")]


def test_version_that_is_not_better_by_the_margin_stays_challenger(rows, tmp_path):
    good = train_and_register(rows, spec_with(GOOD), tmp_path).model_version[0]
    frame = train_and_register(rows, spec_with(WEAK), tmp_path)
    weak = next(v for v in frame.model_version if v != good)
    assert statuses(frame) == {good: "champion", weak: "challenger"}
    assert "does not beat the champion" in frame.set_index("model_version").reason[weak]


def test_margin_blocks_a_small_improvement(rows, tmp_path):
    first = train_and_register(rows, spec_with(GOOD), tmp_path).model_version[0]
    # The same model on the same data, a tiny bit different: cannot beat a margin of 0.1.
    nudged = spec_with(GOOD, candidates=[{"name": "logistic_regression",
                                          "params": {"max_iter": 500, "C": 0.5}}],
                       promotion={"margin": 0.1})
    frame = train_and_register(rows, nudged, tmp_path)
    assert statuses(frame)[first] == "champion"
    assert (frame.status == "challenger").sum() == 1


def test_a_version_missing_the_success_criterion_is_rejected_and_never_scores(rows, tmp_path):
    impossible = spec_with(GOOD, problem={"success": {"metric": "roc_auc", "target": 0.999}})
    frame = train_and_register(rows, impossible, tmp_path)
    assert frame.status.tolist() == ["rejected"]
    assert "misses the success target 0.999" in frame.reason[0]
    assert not frame.met_criterion[0]
    with pytest.raises(LookupError, match="has 0 champions"):
        scoring.registered_scorers(frame, impossible)


def test_a_version_that_does_not_beat_the_rule_is_rejected(rows, tmp_path):
    # The rule is the label itself: no model beats it.
    cheat = spec_with(WEAK, problem={"rule_baseline": "label"})
    relation_rows = rows.assign(__rule_baseline=rows.label)
    frame = train_and_register(relation_rows, cheat, tmp_path)
    assert frame.status.tolist() == ["rejected"]
    assert "does not beat the rule baseline" in frame.reason[0]


def test_pin_rolls_back_and_is_recorded(rows, tmp_path):
    weak = train_and_register(rows, spec_with(WEAK), tmp_path).model_version[0]
    frame = train_and_register(rows, spec_with(GOOD), tmp_path)
    good = next(v for v in frame.model_version if v != weak)
    assert statuses(frame)[good] == "champion"
    rolled = train_and_register(rows, spec_with(GOOD), tmp_path, pin=weak)
    assert statuses(rolled) == {weak: "champion", good: "retired"}
    assert rolled.set_index("model_version").reason[weak] == (
        "pinned as champion by the champion_pins var")
    last = registry.ModelRegistry(tmp_path, "toy").history()[-1]
    assert (last["model_version"], last["to_status"]) == (weak, "champion")
    # Pinning again changes nothing; a later run without the pin keeps the pinned champion.
    again = train_and_register(rows, spec_with(GOOD), tmp_path)
    assert statuses(again) == {weak: "champion", good: "retired"}


def test_pinning_an_unknown_version_names_the_registered_ones(rows, tmp_path):
    version = train_and_register(rows, spec_with(GOOD), tmp_path).model_version[0]
    with pytest.raises(ValueError, match=f"no version nope.*registered: {version}"):
        train_and_register(rows, spec_with(GOOD), tmp_path, pin="nope")


def test_champion_scores_as_champion_and_challengers_as_challenger(rows, tmp_path):
    # Fitted on train only (deploy.refit: train), so the later as_ofs are outside the fit window.
    keep = {"deploy": {"refit": "train"}}
    good = train_and_register(rows, spec_with(GOOD, **keep), tmp_path).model_version[0]
    frame = train_and_register(rows, spec_with(WEAK, **keep), tmp_path)
    scorers = scoring.registered_scorers(frame, spec_with(GOOD))
    assert [(s.model_version, s.role) for s in scorers] == [
        (good, "champion"), (next(v for v in frame.model_version if v != good), "challenger")]
    assert scorers[1].spec.features == ("x2",)  # each version scores with its own features
    table = pa.Table.from_pandas(rows, preserve_index=False)
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=500))
    scored = scoring.score_registered(scorers, reader, spec_with(GOOD)).read_all().to_pandas()
    assert scored.groupby("role").model_version.unique().map(list).to_dict() == {
        "champion": [good], "challenger": [scorers[1].model_version]}
    # No version scores an as_of inside its own fit window.
    assert (frame.fit_to == frame.train_to).all()
    trained_through = pd.Timestamp(frame.fit_to.max())
    after = rows[rows.as_of_date > trained_through]
    assert (scored.groupby("role").size() == len(after)).all()
    assert scored.as_of_date.min() > trained_through


def test_lift_and_gap_are_signed_by_the_metric_direction(rows, tmp_path):
    target = rows.x1 * 3 + np.random.default_rng(2).normal(size=len(rows))
    spec = specs.from_dict({
        "name": "toy_reg", "target": "y", "entity_key": "entity_id", "task": "regression",
        "features": {"numeric": ["x1", "x2"]}, "search": {"cv_folds": 2},
    })
    row = train_and_register(rows.assign(y=target), spec, tmp_path).iloc[0]
    assert row.selection_metric == "rmse" and row.test_score < row.baseline_prior_test_score
    assert row.lift_over_prior > 0  # better than the mean, although the RMSE went down


def test_a_challenger_that_cannot_load_does_not_stop_the_champion(rows, tmp_path):
    good = train_and_register(rows, spec_with(GOOD), tmp_path).model_version[0]
    frame = train_and_register(rows, spec_with(WEAK), tmp_path)
    broken = frame[frame.model_version != good].iloc[0]
    with open(broken.artifact_uri, "ab") as handle:
        handle.write(b"\0")
    with pytest.warns(UserWarning, match=f"challenger scoring skipped: model version {broken.model_version}"):
        scorers = scoring.registered_scorers(frame, spec_with(GOOD))
    assert [(s.model_version, s.role) for s in scorers] == [(good, "champion")]


def test_retrain_on_signal_trains_only_when_the_signal_or_the_spec_says_so(rows, tmp_path):
    on_signal = {"retrain_on_signal": True}
    first = train_and_register(rows, spec_with(WEAK, monitoring=on_signal), tmp_path)
    assert len(first) == 1  # no champion yet: trains
    changed = rows.assign(x2=rows.x2 + 1e-3)  # new data: a new version without the flag
    quiet = {"model_version": first.model_version[0], "retrain_recommended": False,
             "reasons": ""}
    same = train_and_register(changed, spec_with(WEAK, monitoring=on_signal), tmp_path, None,
                              quiet)
    assert same.model_version.tolist() == first.model_version.tolist()
    loud = {**quiet, "retrain_recommended": True, "reasons": "tier-1 feature drift"}
    retrained = train_and_register(changed, spec_with(WEAK, monitoring=on_signal), tmp_path,
                                   None, loud)
    assert len(retrained) == 2
    spec_changed = train_and_register(rows, spec_with(GOOD, monitoring=on_signal), tmp_path,
                                      None, quiet)
    assert len(spec_changed) == 3  # a spec edit trains without a signal
    # The new versions reach champion only through the promotion rule.
    assert (spec_changed.status == "champion").sum() == 1


def test_without_the_flag_new_data_trains_whatever_the_signal(rows, tmp_path):
    first = train_and_register(rows, spec_with(WEAK), tmp_path)
    quiet = {"model_version": first.model_version[0], "retrain_recommended": False}
    changed = rows.assign(x2=rows.x2 + 1e-3)
    assert len(train_and_register(changed, spec_with(WEAK), tmp_path, None, quiet)) == 2


def test_scoring_a_model_without_champion_returns_no_rows(rows, tmp_path):
    import duckdb
    import yaml

    from mlmodels import workflow

    impossible = {**SPEC, "problem": {"success": {"metric": "roc_auc", "target": 0.999}}}
    frame = train_and_register(rows, specs.from_dict(impossible), tmp_path)
    assert frame.status.tolist() == ["rejected"]
    (tmp_path / "toy.yml").write_text(yaml.safe_dump(impossible))
    scored = rows.assign(split=np.where(rows.as_of_date == rows.as_of_date.max(), "score",
                                        rows.split))
    with duckdb.connect() as con:
        reader = workflow.score(con.from_df(scored), con.from_df(frame),
                                {"spec": str(tmp_path / "toy.yml"), "store": str(tmp_path)})
        table = reader.read_all()
    assert table.num_rows == 0 and "score" in table.column_names


def test_the_deployed_model_is_refitted_on_every_labelled_row(rows, tmp_path):
    frame = train_and_register(rows, spec_with(GOOD), tmp_path)
    row = frame.iloc[0]
    labelled = rows[rows.split.isin(["train", "valid", "test"])]
    # The registry keeps the evaluated windows and the deployed fit's window apart.
    assert (row.fit_rows, str(row.fit_from), str(row.fit_to)) == (
        len(labelled), "2024-01-01", "2024-12-01")
    assert row.train_rows < row.fit_rows and str(row.train_to) == "2024-06-01"
    assert row.deploy_refit == "all" and row.evaluated_artifact_uri.endswith("evaluated.joblib")
    deployed = registry.load_verified(row.to_dict())
    evaluated = registry.load_evaluated(row.to_dict())
    assert deployed.named_steps["est"].coef_.tolist() != evaluated.named_steps["est"].coef_.tolist()
    # The deployed threshold flags the test share the evaluated threshold flagged.
    test = labelled[labelled.split == "test"]
    X = test[["x1", "x2", "colour"]]
    evaluated_share = (evaluated.predict_proba(X)[:, 1] >= row.evaluated_threshold).mean()
    deployed_share = (deployed.predict_proba(X)[:, 1] >= row.threshold).mean()
    assert abs(evaluated_share - deployed_share) <= 1 / len(test)
    # Nothing inside the deployed fit window is scored.
    scorers = scoring.registered_scorers(frame, spec_with(GOOD))
    assert scorers[0].trained_through == pd.Timestamp("2024-12-01")


def test_a_tampered_evaluated_artifact_is_refused(rows, tmp_path):
    row = train_and_register(rows, spec_with(GOOD), tmp_path).iloc[0].to_dict()
    path = row["evaluated_artifact_uri"]
    with open(path, "ab") as handle:
        handle.write(b"x")
    with pytest.raises(registry.ArtifactError, match="sha256"):
        registry.load_evaluated(row)


def test_a_version_trained_on_shifted_data_stays_challenger(rows, tmp_path):
    """Promotion guard: comparing on the same corrupted window would promote it; it must not."""
    spec = spec_with({**GOOD, "tier1": ["x1"]})
    champion = train_and_register(rows, spec, tmp_path).model_version[0]
    shifted = rows.assign(x1=rows.x1 + 1.5 * (rows.as_of_date >= "2024-10-01"))
    frame = train_and_register(shifted, spec, tmp_path)
    new = next(v for v in frame.model_version if v != champion)
    assert statuses(frame) == {champion: "champion", new: "challenger"}
    assert "x1 PSI" in frame.set_index("model_version").reason[new]


def test_a_null_flood_in_the_new_data_stays_challenger_unless_the_guard_is_off(rows, tmp_path):
    champion = train_and_register(rows, spec_with(GOOD), tmp_path).model_version[0]
    flooded = rows.copy()
    flooded.loc[(flooded.as_of_date >= "2024-10-01") & (flooded.index % 5 < 2), "x2"] = np.nan
    frame = train_and_register(flooded, spec_with(GOOD), tmp_path)
    reason = frame.set_index("model_version").reason
    new = next(v for v in frame.model_version if v != champion)
    assert frame.set_index("model_version").status[new] == "challenger"
    assert "x2 null share" in reason[new]
    # With the guard off the same data is judged on the metric alone (what main did).
    off = spec_with(GOOD, promotion={"guard": False})
    train_and_register(rows, off, tmp_path / "off")
    unguarded = train_and_register(flooded, off, tmp_path / "off")
    assert len(unguarded) == 2 and not unguarded.reason.str.contains("shifted").any()


def test_a_failed_warning_on_the_new_data_keeps_the_new_version_challenger(rows, tmp_path):
    """Guard: a warn-level failure on an as_of the champion never saw stops the promotion."""
    earlier = rows[rows.as_of_date <= "2024-11-01"]
    champion = train_and_register(earlier, spec_with(GOOD), tmp_path / "a").model_version[0]
    train_and_register(earlier, spec_with(GOOD), tmp_path / "b")

    def warning_at(as_of):
        return pd.DataFrame({"expectation": ["expect_column_mean_to_be_between"],
                             "column_name": ["x1"], "as_of": [pd.Timestamp(as_of)]})

    flagged = train_and_register(rows, spec_with(GOOD), tmp_path / "a",
                                 warnings=warning_at("2024-12-01"))
    new = next(v for v in flagged.model_version if v != champion)
    assert statuses(flagged) == {champion: "champion", new: "challenger"}
    reason = flagged.set_index("model_version").reason[new]
    assert "expect_column_mean_to_be_between on x1 at 2024-12-01" in reason
    # A warning on an as_of the champion was fitted on too is not new: judged on the metric.
    known = train_and_register(rows, spec_with(GOOD), tmp_path / "b",
                               warnings=warning_at("2024-06-01"))
    assert not known.reason.str.contains("warn-level").any()


def test_a_row_count_jump_in_the_new_data_stays_challenger(rows, tmp_path):
    champion = train_and_register(rows, spec_with(GOOD), tmp_path).model_version[0]
    late = rows[rows.as_of_date >= "2024-10-01"]
    tripled = pd.concat([rows] + [late.assign(entity_id=late.entity_id + 1000 * k)
                                  for k in (1, 2)], ignore_index=True)
    frame = train_and_register(tripled, spec_with(GOOD), tmp_path)
    new = next(v for v in frame.model_version if v != champion)
    assert frame.set_index("model_version").status[new] == "challenger"
    assert "rows per as_of 200 -> 600" in frame.set_index("model_version").reason[new]
