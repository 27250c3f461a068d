import pytest

from mlmodels.serve import registry
from mlmodels.serve.promotion import train_and_register


@pytest.fixture
def champion(rows, spec, tmp_path) -> dict:
    return train_and_register(rows, spec, tmp_path / "store").iloc[0].to_dict()


def test_a_verified_artifact_loads(champion):
    assert hasattr(registry.load_verified(champion), "predict_proba")


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
