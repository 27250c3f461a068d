"""The model registry and artifact store: the record of every version, kept outside the warehouse.

Layout under the store's root (``MLMODELS_ARTIFACT_DIR``)::

    <model_name>/registry.json                  every version's row, and every status change
    <model_name>/<model_version>/pipeline.joblib the whole fitted Pipeline
    <model_name>/<model_version>/metadata.json  metrics, windows, reference bins, library versions
    <model_name>/<model_version>/evaluation.json the evaluation tables

Every file is written to a temporary name and renamed into place, so a killed run never leaves a
half-written file; a version's folder is complete before ``registry.json`` names it. The warehouse
tables (``ml_model_registry``, ``ml_model_status_history``) mirror this store on every build, so
``dbt build --full-refresh`` cannot lose history.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import os
import secrets
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.pipeline import Pipeline

from mlmodels.files import write_atomic, write_text_atomic
from mlmodels.spec import estimators

PIPELINE_FILE = "pipeline.joblib"
EVALUATED_FILE = "evaluated.joblib"  # the Pipeline fitted on train, when the deployed one is a refit
METADATA_FILE = "metadata.json"
EVALUATION_FILE = "evaluation.json"
REGISTRY_FILE = "registry.json"
STATUSES = ("champion", "challenger", "retired", "rejected")
KEY_ENV = "MLMODELS_SIGNING_KEY"
KEY_FILE_ENV = "MLMODELS_SIGNING_KEY_FILE"
DEFAULT_KEY_FILE = Path("~/.config/mlmodels/signing.key")
ALLOW_MISMATCH_ENV = "MLMODELS_ALLOW_LIBRARY_MISMATCH"
MIN_KEY_BYTES = 32
log = logging.getLogger(__name__)


class ArtifactError(RuntimeError):
    """An artifact is missing or does not match what the registry recorded."""


class LibraryMismatchError(RuntimeError):
    """The artifact was trained under other library versions than are running (or installed)."""


def signing_key() -> bytes:
    """Return the HMAC key that signs artifacts, kept outside the warehouse and the store.

    ``MLMODELS_SIGNING_KEY`` (the key itself) wins; otherwise the file at
    ``MLMODELS_SIGNING_KEY_FILE`` (default ``~/.config/mlmodels/signing.key``) is read, and
    created with a random 256-bit key (mode 0600) on first use, for development. In production
    give every process that trains or scores the same key through either variable.
    """
    if os.environ.get(KEY_ENV):
        key = os.environ[KEY_ENV].encode()
        where = KEY_ENV
    else:
        path = Path(os.environ.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE).expanduser()
        if not path.is_file():
            _create_key(path)
        key, where = path.read_text().strip().encode(), str(path)
    if len(key) < MIN_KEY_BYTES:
        raise ArtifactError(f"the signing key in {where} is shorter than {MIN_KEY_BYTES} bytes; "
                            "refusing to sign or verify with it")
    return key


def _create_key(path: Path) -> None:
    """Write a random key to a private temporary file, then link it into place.

    The link fails if another process (a parallel dbt thread) got there first, and a reader
    never sees a half-written key file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
        os.chmod(temporary, 0o600)
        try:
            os.link(temporary, path)
            log.warning("mlmodels: created a development signing key at %s", path)
        except FileExistsError:
            pass
    finally:
        Path(temporary).unlink(missing_ok=True)


def signature(model_name: str, model_version: str, sha256: str) -> str:
    """Return the HMAC-SHA256 that binds an artifact's sha256 to its model and version."""
    message = f"{model_name}\n{model_version}\n{sha256}".encode()
    return hmac.new(signing_key(), message, hashlib.sha256).hexdigest()


def now() -> str:
    """Return the current UTC time as an ISO string without zone (what the tables store)."""
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def version_dir(root: str | Path, model_name: str, model_version: str) -> Path:
    """Return the folder of one model version in the store."""
    return Path(root).resolve() / model_name / model_version


def sha256_of(path: str | Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_version(
    pipeline: Pipeline,
    metadata: dict[str, Any],
    evaluation: dict[str, list[dict[str, Any]]],
    root: str | Path,
    model_name: str,
    version: str,
) -> tuple[Path, str]:
    """Write a fitted Pipeline, its metadata and its evaluation tables into the store.

    Returns
    -------
    tuple[Path, str]
        The artifact's path and its sha256.
    """
    folder = version_dir(root, model_name, version)
    folder.mkdir(parents=True, exist_ok=True)
    artifact = folder / PIPELINE_FILE
    write_atomic(artifact, lambda path: joblib.dump(pipeline, path))
    sha = sha256_of(artifact)
    _write_json(folder / EVALUATION_FILE, evaluation)
    _write_json(folder / METADATA_FILE, {**metadata, "artifact_sha256": sha})
    return artifact, sha


def save_evaluated(pipeline: Pipeline, root: str | Path, model_name: str,
                   version: str) -> tuple[Path, str, str]:
    """Write the evaluated Pipeline (fitted on train) beside a version's deployed refit.

    Returns
    -------
    tuple[Path, str, str]
        Its path, sha256 and signature (signed as ``<version>/evaluated``, so it can never pass
        for the deployed artifact).
    """
    artifact = version_dir(root, model_name, version) / EVALUATED_FILE
    artifact.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(artifact, lambda path: joblib.dump(pipeline, path))
    sha = sha256_of(artifact)
    return artifact, sha, signature(model_name, f"{version}/evaluated", sha)


def load_evaluated(row: dict[str, Any]) -> Pipeline:
    """Load the Pipeline a version was evaluated with (verified as :func:`load_verified`).

    That is the deployed artifact itself for versions without a refit.
    """
    uri = row.get("evaluated_artifact_uri")
    if not isinstance(uri, str) or not uri:
        return load_verified(row)
    return load_verified({**row, "model_version": f"{row['model_version']}/evaluated",
                          "artifact_uri": uri,
                          "artifact_sha256": row["evaluated_artifact_sha256"],
                          "artifact_signature": row["evaluated_artifact_signature"]})


def load_verified(row: dict[str, Any]) -> Pipeline:
    """Load a registered version's Pipeline after every check passes, before unpickling.

    1. the file's sha256 equals the registry's ``artifact_sha256`` (corruption);
    2. the registry's ``artifact_signature`` is the HMAC of model, version and sha256 under the
       signing key kept outside the warehouse (tampering: whoever rewrites the file and the hash
       cannot forge the signature without the key);
    3. scikit-learn, numpy and the estimator's package (LightGBM, XGBoost) are the versions it
       was trained with (pickles are not portable across them).
       ``MLMODELS_ALLOW_LIBRARY_MISMATCH=1`` turns this refusal into a warning.

    Raises
    ------
    ArtifactError
        If the file is missing, its hash differs, or the signature is missing or wrong.
    LibraryMismatchError
        If the library versions differ and the mismatch is not allowed.
    """
    return joblib.load(io.BytesIO(verified_bytes(row)))


def verified_bytes(row: dict[str, Any]) -> bytes:
    """Return a registered version's artifact bytes after :func:`load_verified`'s checks.

    A process with no access to the store (a Spark worker) gets these bytes with the scorer, and
    :func:`load_shipped` checks them again where they are unpickled.
    """
    version, path = row["model_version"], row["artifact_uri"]
    expected = row.get("artifact_signature")
    if not isinstance(expected, str) or not expected:
        raise ArtifactError(f"model version {version}: artifact {path} has no signature in the "
                            "registry; refusing to load it")
    actual = signature(row["model_name"], version, row["artifact_sha256"])
    if not hmac.compare_digest(actual, expected):
        raise ArtifactError(f"model version {version}: artifact {path} has a signature that does "
                            "not match the signing key; refusing to load it")
    check_libraries(row)
    return _read_checked(path, row["artifact_sha256"], version)


def load_shipped(data: bytes, row: dict[str, Any]) -> Pipeline:
    """Load artifact bytes that :func:`verified_bytes` returned on another machine.

    The sha256 the registry signed and the library versions are checked again here, before
    unpickling: bytes damaged in transit, or a worker with another scikit-learn, are refused.
    """
    _check_sha256(data, row["artifact_sha256"], row["model_version"], row["artifact_uri"])
    check_libraries(row)
    return joblib.load(io.BytesIO(data))


def _check_sha256(data: bytes, expected: str, model_version: str, where: Any) -> None:
    """Refuse bytes whose sha256 is not the registry's."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ArtifactError(
            f"model version {model_version}: artifact {where} has sha256 {actual}, but the "
            f"registry recorded {expected}; refusing to load it"
        )


def check_libraries(row: dict[str, Any]) -> None:
    """Refuse (or warn, when allowed) if a library differs from the training run's.

    The libraries are scikit-learn, numpy and the package of the version's estimator
    (``estimator_library``: LightGBM or XGBoost for a candidate named by import path), whose
    pickles are not portable across versions either. An estimator package that is not
    installed is refused whatever ``MLMODELS_ALLOW_LIBRARY_MISMATCH`` says: unpickling needs it.

    Raises
    ------
    LibraryMismatchError
        If a version differs and the mismatch is not allowed, or the estimator's package is
        missing.
    """
    running = {"sklearn": sklearn.__version__, "numpy": np.__version__}
    recorded = {library: row.get(f"{library}_version") for library in running}
    library = row.get("estimator_library")
    if isinstance(library, str) and library and library not in running:
        current = estimators.library_version(library)
        trained = row.get("estimator_library_version")
        if not estimators.is_installed(library):
            extra = estimators.EXTRAS.get(library)
            hint = f"pip install 'mlmodels[{extra}]'" if extra else f"install {library}"
            version, pin = (f" {trained}", f" (version {trained})") if trained else ("", "")
            raise LibraryMismatchError(
                f"model version {row['model_version']} was trained with {library}{version}, "
                f"which is not installed; {hint}{pin} to load it")
        running[library], recorded[library] = current, trained
    for library, current in running.items():
        trained = recorded[library]
        if isinstance(trained, str) and trained and trained != current:
            running_version = current or "without a version"
            message = (f"model version {row['model_version']} was trained with {library} "
                       f"{trained}, but {library} {running_version} is running")
            if os.environ.get(ALLOW_MISMATCH_ENV, "").lower() in {"1", "true", "yes"}:
                warnings.warn(f"{message}; loading anyway ({ALLOW_MISMATCH_ENV} is set)",
                              stacklevel=2)
            else:
                raise LibraryMismatchError(
                    f"{message}; retrain it, or set {ALLOW_MISMATCH_ENV}=1 to load it anyway")


def load_pipeline(artifact_uri: str | Path, expected_sha256: str, model_version: str) -> Pipeline:
    """Load a Pipeline after checking that the file's sha256 is the one the registry recorded.

    Raises
    ------
    ArtifactError
        If the file is missing or its sha256 differs; nothing is unpickled in that case.
    """
    return joblib.load(io.BytesIO(_read_checked(artifact_uri, expected_sha256, model_version)))


def _read_checked(artifact_uri: str | Path, expected_sha256: str, model_version: str) -> bytes:
    """Return the artifact's bytes if their sha256 is the registry's."""
    path = Path(artifact_uri)
    if not path.is_file():
        raise ArtifactError(f"model version {model_version}: artifact {path} does not exist")
    # Hash and unpickle the same bytes: the file cannot be swapped between check and load.
    data = path.read_bytes()
    _check_sha256(data, expected_sha256, model_version, path)
    return data


def load_metadata(artifact_uri: str | Path) -> dict[str, Any]:
    """Return the metadata stored beside an artifact.

    Raises
    ------
    ArtifactError
        If the metadata file is missing.
    """
    return _read_json(Path(artifact_uri).parent / METADATA_FILE)


def load_evaluation(artifact_uri: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Return the evaluation tables stored beside an artifact."""
    return _read_json(Path(artifact_uri).parent / EVALUATION_FILE)


class ModelRegistry:
    """The versions of one model and their status, in ``<root>/<model_name>/registry.json``.

    Parameters
    ----------
    root
        The store's folder.
    model_name
        The model (its spec's name).
    """

    def __init__(self, root: str | Path, model_name: str):
        self.model_name = model_name
        self.path = Path(root).resolve() / model_name / REGISTRY_FILE
        state = json.loads(self.path.read_text()) if self.path.is_file() else {}
        self._versions: list[dict[str, Any]] = state.get("versions", [])
        self._history: list[dict[str, Any]] = state.get("history", [])

    def versions(self) -> list[dict[str, Any]]:
        """Return every registered version's row, oldest first."""
        return [dict(row) for row in self._versions]

    def history(self) -> list[dict[str, Any]]:
        """Return every status change, oldest first."""
        return [dict(change) for change in self._history]

    def get(self, model_version: str) -> dict[str, Any] | None:
        """Return one version's row, or None if it is not registered."""
        return next((dict(r) for r in self._versions if r["model_version"] == model_version), None)

    def champion(self) -> dict[str, Any] | None:
        """Return the champion's row, or None while the model has none."""
        return next((dict(r) for r in self._versions if r["status"] == "champion"), None)

    def register(self, row: dict[str, Any], status: str, reason: str) -> None:
        """Add a new version with its first status; a new champion retires the old one."""
        if self.get(row["model_version"]) is not None:
            raise ValueError(f"model version {row['model_version']} is already registered")
        self._versions.append({**row, "status": None, "reason": None, "promoted_at": None})
        self._change(row["model_version"], status, reason)
        self._save()

    def set_status(self, model_version: str, status: str, reason: str) -> None:
        """Change a version's status (champion retires the current one) and record why."""
        if self.get(model_version) is None:
            known = ", ".join(r["model_version"] for r in self._versions) or "none"
            raise ValueError(
                f"model '{self.model_name}' has no version {model_version} (registered: {known})"
            )
        self._change(model_version, status, reason)
        self._save()

    def _change(self, model_version: str, status: str, reason: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        when = now()
        if status == "champion":
            current = self.champion()
            if current is not None and current["model_version"] != model_version:
                self._record(current["model_version"], "retired",
                             f"replaced as champion by {model_version}", when)
        self._record(model_version, status, reason, when)

    def _record(self, model_version: str, status: str, reason: str, when: str) -> None:
        row = next(r for r in self._versions if r["model_version"] == model_version)
        if row["status"] == status:
            return
        self._history.append({
            "model_name": self.model_name, "model_version": model_version,
            "from_status": row["status"], "to_status": status, "reason": reason,
            "changed_at": when,
        })
        row["status"], row["reason"] = status, reason
        if status == "champion":
            row["promoted_at"] = when

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _write_json(self.path, {"model_name": self.model_name, "versions": self._versions,
                                "history": self._history})


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise ArtifactError(f"model version {path.parent.name}: {path} does not exist")
    return json.loads(path.read_text())


def _write_json(path: Path, document: Any) -> None:
    text = json.dumps(document, indent=2, default=str, allow_nan=True)
    write_text_atomic(path, text)

