import numpy as np
import pandas as pd
import pytest

from mlmodels.spec import specs
from tests.unit.toy import SPEC


@pytest.fixture
def spec() -> specs.ModelSpec:
    return specs.from_dict(SPEC)


@pytest.fixture
def rows() -> pd.DataFrame:
    """A small training set: 12 monthly as_of dates, 200 entities, label driven by x1 and colour."""
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=12, freq="MS")
    frame = pd.DataFrame(
        [(e, d) for d in dates for e in range(200)], columns=["entity_id", "as_of_date"]
    )
    frame["x1"] = rng.normal(size=len(frame))
    frame["x2"] = rng.normal(size=len(frame))
    frame.loc[rng.random(len(frame)) < 0.05, "x2"] = np.nan
    frame["colour"] = rng.choice(["red", "green", "blue"], size=len(frame))
    logit = 1.5 * frame["x1"] + (frame["colour"] == "red") - 1.5
    frame["label"] = (rng.random(len(frame)) < 1 / (1 + np.exp(-logit))).astype(int)
    month = frame["as_of_date"].dt.month
    frame["split"] = np.select(
        [month <= 6, month == 8, month >= 10], ["train", "valid", "test"], default="embargo"
    )
    return frame


@pytest.fixture(autouse=True)
def signing_key_file(tmp_path, monkeypatch):
    """Keep tests' signing keys out of the home folder."""
    monkeypatch.delenv("MLMODELS_SIGNING_KEY", raising=False)
    monkeypatch.setenv("MLMODELS_SIGNING_KEY_FILE", str(tmp_path / "signing.key"))
