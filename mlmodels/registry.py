"""The artifact store: one folder per model version holding the fitted Pipeline and its metadata.

Layout: ``<root>/<model_name>/<model_version>/pipeline.joblib`` and ``metadata.json``. Files are
written to a temporary name and renamed into place, so a killed run never leaves a half-written
artifact under a version's name. The registry *table* (``ml_model_registry``) lives in the
warehouse and records each version's ``artifact_uri`` and ``artifact_sha256``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import joblib
from sklearn.pipeline import Pipeline

PIPELINE_FILE = "pipeline.joblib"
METADATA_FILE = "metadata.json"


class ArtifactError(RuntimeError):
    """An artifact is missing or does not match what the registry recorded."""


def version_dir(root: str | Path, model_name: str, model_version: str) -> Path:
    """Return the folder of one model version in the artifact store."""
    return Path(root).resolve() / model_name / model_version


def sha256_of(path: str | Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save(
    pipeline: Pipeline, metadata: dict[str, Any], root: str | Path, model_name: str, version: str
) -> tuple[Path, str]:
    """Write a fitted Pipeline and its metadata into the store.

    Parameters
    ----------
    pipeline
        The whole fitted Pipeline (preprocessing and estimator).
    metadata
        JSON-serialisable facts about the version (metrics, windows, reference bins, ...).
    root, model_name, version
        Where in the store it goes.

    Returns
    -------
    tuple[Path, str]
        The artifact's path and its sha256.
    """
    folder = version_dir(root, model_name, version)
    folder.mkdir(parents=True, exist_ok=True)
    artifact = folder / PIPELINE_FILE
    _atomic_write(artifact, lambda handle: joblib.dump(pipeline, handle))
    sha = sha256_of(artifact)
    document = {**metadata, "artifact_sha256": sha}
    _atomic_write(
        folder / METADATA_FILE,
        lambda handle: handle.write(json.dumps(document, indent=2, default=str).encode()),
    )
    return artifact, sha


def load_pipeline(artifact_uri: str | Path, expected_sha256: str, model_version: str) -> Pipeline:
    """Load a Pipeline after checking that the file's sha256 is the one the registry recorded.

    Raises
    ------
    ArtifactError
        If the file is missing or its sha256 differs; nothing is unpickled in that case.
    """
    path = Path(artifact_uri)
    if not path.is_file():
        raise ArtifactError(f"model version {model_version}: artifact {path} does not exist")
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise ArtifactError(
            f"model version {model_version}: artifact {path} has sha256 {actual}, but the registry "
            f"recorded {expected_sha256}; refusing to load it"
        )
    return joblib.load(path)


def load_metadata(artifact_uri: str | Path) -> dict[str, Any]:
    """Return the metadata stored beside an artifact.

    Raises
    ------
    ArtifactError
        If the metadata file is missing.
    """
    path = Path(artifact_uri).parent / METADATA_FILE
    if not path.is_file():
        raise ArtifactError(f"model version {path.parent.name}: metadata {path} does not exist")
    return json.loads(path.read_text())


def _atomic_write(target: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename it over ``target``."""
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
