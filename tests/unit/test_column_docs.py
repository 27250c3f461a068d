"""Every public column has one description, in the YAML dbt reads (checked against the warehouse
in tests/integration/test_demo_build.py)."""

from pathlib import Path

import yaml

from mlmodels import column_docs, scaffold
from mlmodels.spec import specs

REPO = Path(__file__).resolve().parents[2]


def described(path: Path) -> dict[str, dict[str, str]]:
    models = yaml.safe_load(path.read_text())["models"]
    return {m["name"]: {c["name"]: c.get("description", "") for c in m.get("columns", [])}
            for m in models}


def test_the_package_yaml_describes_its_tables_as_column_docs_does():
    yml = described(REPO / "mlmodels" / "dbt" / "models" / "_mlmodels.yml")
    for table, columns in column_docs.PACKAGE.items():
        assert yml[table] == columns, table


def test_generated_yaml_describes_every_column_of_the_model_tables(tmp_path):
    spec = specs.load(REPO / "dbt_project" / "ml" / "churn.yml")
    files = scaffold.render(spec, "expectations")
    yml = yaml.safe_load(files["models/ml/churn/_ml_churn.yml"])["models"]
    by_name = {m["name"]: m for m in yml}
    predictions = by_name["ml_churn__predictions"]
    columns = {c["name"]: c["description"] for c in predictions["columns"]}
    assert {"score_rank", "is_selected", "customer_id", "plan", "region"} <= set(columns)
    assert all(columns.values()) and "{" not in "".join(columns.values())
    assert predictions["config"]["persist_docs"]["columns"] == "{{ target.type == 'duckdb' }}"
    # the data tests a column had stay with it
    scores = {c["name"]: c for c in by_name["ml_churn__scores"]["columns"]}
    assert scores["score"]["data_tests"] == ["not_null"] and scores["score"]["description"]
