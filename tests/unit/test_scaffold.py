import shutil
from pathlib import Path

import pytest

from mlmodels import cli, scaffold

PROJECT = Path(__file__).parents[2] / "dbt_project"


@pytest.mark.parametrize("spec", sorted(p.stem for p in (PROJECT / "ml").glob("*.yml")))
def test_the_repository_files_are_what_each_spec_gives(spec):
    assert scaffold.check(PROJECT, spec) == []


def test_new_writes_the_files_and_lists_the_model(tmp_path, capsys):
    project = tmp_path / "dbt_project"
    (project / "ml").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: p\nvars:\n  ml_models: []\n  dq_gates: []\n")
    shutil.copy(PROJECT / "ml" / "spend.yml", project / "ml" / "forecast.yml")
    spec = project / "ml" / "forecast.yml"
    spec.write_text(spec.read_text().replace("name: spend", "name: forecast"))
    assert cli.main(["new", "forecast", "--project", str(project)]) == 0
    assert scaffold.listed_models(project) == ["forecast"]
    written = sorted(p.name for p in (project / "models" / "ml" / "forecast").iterdir())
    assert written == ["_ml_forecast.yml", "ml_forecast__exports.py",
                       "ml_forecast__feature_drift.sql", "ml_forecast__prediction_drift.sql",
                       "ml_forecast__predictions.sql", "ml_forecast__preflight.py",
                       "ml_forecast__realised_performance.sql",
                       "ml_forecast__retrain_signal.sql", "ml_forecast__scores.py",
                       "ml_forecast__train.py", "ml_forecast__training_set.sql"]
    gates = sorted(p.name for p in (project / "models" / "quality").iterdir())
    assert "dq_ml_forecast__training_set.py" in gates and "dq_feat_customer__as_of.py" in gates
    assert scaffold.listed_models(project, "dq_gates") == [
        "feat_customer__as_of", "ml_forecast__training_set"]
    assert cli.main(["new", "forecast", "--project", str(project), "--check"]) == 0
    # Running it again changes nothing; it refuses to overwrite a file edited by hand.
    assert cli.main(["new", "forecast", "--project", str(project)]) == 0
    edited = project / "models" / "ml" / "forecast" / "ml_forecast__train.py"
    edited.write_text(edited.read_text() + "# edited\n")
    capsys.readouterr()
    assert cli.main(["new", "forecast", "--project", str(project)]) == 2
    assert "--force" in capsys.readouterr().err
    assert cli.main(["new", "forecast", "--project", str(project), "--force"]) == 0
    # A changed window or threshold is read from the spec when dbt compiles: nothing is stale.
    spec.write_text(spec.read_text().replace("horizon_days: 90", "horizon_days: 60"))
    assert cli.main(["new", "forecast", "--project", str(project), "--check"]) == 0
    # A spec that reads another relation changes the refs: --check fails.
    spec.write_text(spec.read_text().replace("events: stg_demo__events",
                                             "events: stg_demo__other_events"))
    assert cli.main(["new", "forecast", "--project", str(project), "--check"]) == 1
    assert "ml_forecast__training_set.sql" in capsys.readouterr().err


def test_spec_name_must_match_the_file(tmp_path):
    project = tmp_path / "p"
    (project / "ml").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("vars:\n  ml_models: []\n")
    shutil.copy(PROJECT / "ml" / "spend.yml", project / "ml" / "other.yml")
    with pytest.raises(scaffold.ScaffoldError, match="names the model 'spend'"):
        scaffold.write(project, "other")
