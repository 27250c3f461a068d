from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mlmodels.learn import training
from mlmodels.learn.pipelines import feature_frame
from mlmodels.serve import promotion, registry


@pytest.fixture
def registered(rows, spec, tmp_path, monkeypatch) -> tuple[dict, object]:
    """The champion's registry row, and the deployed Pipeline the training run held in memory."""
    trained = []

    def keep(*args, **kwargs):
        trained.append(training.fit(*args, **kwargs))
        return trained[-1]

    monkeypatch.setattr(promotion, "fit", keep)
    row = promotion.train_and_register(rows, spec, tmp_path / "store").iloc[0].to_dict()
    [run] = trained
    return row, run.pipeline


@pytest.fixture
def champion(registered) -> dict:
    return registered[0]


def test_a_verified_artifact_predicts_as_the_pipeline_that_was_trained(registered, rows, spec):
    row, in_memory = registered
    # The registry's hash is the file's, and its signature binds model, version and hash.
    assert row["artifact_sha256"] == registry.sha256_of(row["artifact_uri"])
    assert row["artifact_signature"] == registry.signature(
        "toy", row["model_version"], row["artifact_sha256"])
    loaded = registry.load_verified(row)
    assert loaded is not in_memory
    known = feature_frame(rows, spec)
    np.testing.assert_array_equal(loaded.predict_proba(known), in_memory.predict_proba(known))
    # ... and it is the fitted model, not some Pipeline: it ranks the labels it learnt.
    assert roc_auc_score(rows.label, loaded.predict_proba(known)[:, 1]) > 0.7


def test_one_changed_byte_is_refused_before_anything_is_unpickled(champion, monkeypatch):
    path = Path(champion["artifact_uri"])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit in the middle, the length kept
    path.write_bytes(bytes(data))
    unpickled = []
    monkeypatch.setattr(registry.joblib, "load", lambda *a, **k: unpickled.append(a))
    with pytest.raises(registry.ArtifactError, match=f"{champion['model_version']}: artifact "
                       f".* has sha256 .*, but the registry recorded {champion['artifact_sha256']}"):
        registry.load_verified(champion)
    assert unpickled == []


def test_changed_artifact_bytes_are_refused(champion):
    with open(champion["artifact_uri"], "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(registry.ArtifactError, match=champion["model_version"]) as error:
        registry.load_verified(champion)
    assert champion["artifact_uri"] in str(error.value) and "sha256" in str(error.value)


def test_a_missing_signature_is_refused(champion):
    with pytest.raises(registry.ArtifactError, match="has no signature"):
        registry.load_verified({**champion, "artifact_signature": None})


def test_a_rewritten_artifact_with_a_rewritten_hash_is_refused(champion, tmp_path):
    """Whoever replaces the file and the registry's hash cannot forge the signature."""
    evil = tmp_path / "evil.joblib"
    evil.write_bytes(b"not the model")
    forged = {**champion, "artifact_uri": str(evil), "artifact_sha256": registry.sha256_of(evil)}
    with pytest.raises(registry.ArtifactError, match="signature that does not match"):
        registry.load_verified(forged)


def test_another_signing_key_is_refused(champion, monkeypatch):
    monkeypatch.setenv("MLMODELS_SIGNING_KEY", "someone else's key, long enough to be used")
    with pytest.raises(registry.ArtifactError, match="does not match the signing key"):
        registry.load_verified(champion)


def test_the_dev_key_is_created_once_outside_the_store(tmp_path, monkeypatch):
    path = tmp_path / "keys" / "signing.key"
    monkeypatch.setenv("MLMODELS_SIGNING_KEY_FILE", str(path))
    first = registry.signing_key()
    assert path.is_file() and oct(path.stat().st_mode & 0o777) == "0o600"
    assert registry.signing_key() == first and len(first) == 64


def test_other_library_versions_are_refused_unless_allowed(champion, monkeypatch):
    old = {**champion, "sklearn_version": "0.24.2"}
    with pytest.raises(registry.LibraryMismatchError) as error:
        registry.load_verified(old)
    assert "sklearn 0.24.2" in str(error.value) and "is running" in str(error.value)
    monkeypatch.setenv("MLMODELS_ALLOW_LIBRARY_MISMATCH", "1")
    with pytest.warns(UserWarning, match="loading anyway"):
        registry.load_verified(old)


def test_a_short_signing_key_is_refused(monkeypatch):
    monkeypatch.setenv("MLMODELS_SIGNING_KEY", "too short")
    with pytest.raises(registry.ArtifactError, match="shorter than 32 bytes"):
        registry.signing_key()
