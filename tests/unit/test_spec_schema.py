"""The JSON Schema of a spec (docs/spec.schema.json) is the one the code generates, and agrees."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from mlmodels import cli
from mlmodels.spec import schema, specs
from tests.unit.toy import SPEC

ROOT = Path(__file__).parents[2]
COMMITTED = ROOT / "docs" / "spec.schema.json"
SPEC_FILES = sorted([*ROOT.glob("dbt_project/ml/*.yml"), *ROOT.glob("examples/*/ml/*.yml")])


def test_the_committed_schema_is_the_generated_one():
    # Regenerate with: mlmodels spec-schema > docs/spec.schema.json
    assert COMMITTED.read_text() == schema.json_schema_text()


def test_the_cli_prints_the_schema(capsys):
    assert cli.main(["spec-schema"]) == 0
    assert json.loads(capsys.readouterr().out) == schema.json_schema()


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_spec_of_the_repository_passes_the_json_schema(path):
    validator = jsonschema.Draft202012Validator(schema.json_schema())
    assert [error.message for error in validator.iter_errors(yaml.safe_load(path.read_text()))] == []


@pytest.mark.parametrize("change", [
    {"colour": 1}, {"features": {"numbers": ["x1"]}}, {"task": "ranking"},
    {"search": {"cv_folds": 1}}, {"candidates": [{"name": "xgboost"}]},
    {"threshold": {"min_precision": 1.5}}, {"drift": {"moderate": "high"}},
])
def test_what_the_parser_refuses_for_its_type_the_json_schema_refuses_too(change):
    broken = {**SPEC, **change}
    with pytest.raises(specs.SpecError):
        specs.from_dict(broken)
    assert not jsonschema.Draft202012Validator(schema.json_schema()).is_valid(broken)


def test_null_blocks_are_valid_in_both():
    relaxed = {**SPEC, "split": None, "monitoring": None, "search": None}
    assert specs.from_dict(relaxed).cv_folds == 3
    assert jsonschema.Draft202012Validator(schema.json_schema()).is_valid(relaxed)
