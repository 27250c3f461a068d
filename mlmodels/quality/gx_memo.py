"""What Great Expectations answered about inputs it sees whole, kept between builds.

Two of GX's answers in a gate depend on nothing but their inputs and the installed versions:
whether a suite entry is an expectation GX accepts (its type and kwargs), and the outcome of a
schema-level expectation on a probe that holds only the mart's columns and dtypes. A gate that
has them from an earlier build of the same suite need not import GX at all (about 2 s of a
demo build's 30 s). An entry or a schema that changed has another key and goes to GX again;
the memo is an optimisation only: a missing, stale or unreadable file means asking GX.

The file is one JSON document per suite file, under the gate's report folder (inside the
project's target directory), replaced atomically. Two gates never share one.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

from mlmodels import __version__
from mlmodels.files import write_atomic

# What a schema-level result keeps: the rest (column, kwargs, rows, run_at) is the run's own.
RESULT_FIELDS = ("success", "observed_value", "unexpected_count", "unexpected_percent",
                 "unexpected_values")


def _versions() -> dict[str, str]:
    """Return the versions GX's answers depend on, from package metadata (no import)."""
    versions = {"mlmodels": __version__}
    for package in ("great_expectations", "pandas", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    return versions


def digest(value: Any) -> str:
    """Return a stable key for a JSON-like value (sorted keys, so equal values match)."""
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class GxMemo:
    """GX's answers for one suite file, loaded from ``path`` (None: remember nothing).

    ``vetted`` holds the keys of suite entries GX accepted; ``schema`` the outcome of each
    schema-level check by its key (the expectation, its kwargs and the dtypes it looked at).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.versions = _versions()
        self.vetted: set[str] = set()
        self.schema: dict[str, dict[str, Any]] = {}
        self._changed = False
        if path is None or not path.is_file():
            return
        try:
            stored = json.loads(path.read_text())
            if stored.get("versions") == self.versions:
                self.vetted = set(stored["vetted"])
                self.schema = {str(key): dict(value) for key, value in stored["schema"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            # Unreadable or from another layout: start empty and let GX answer again.
            self.vetted, self.schema = set(), {}

    @classmethod
    def for_suite(cls, folder: str | Path | None, suite_path: str | Path) -> GxMemo:
        """Return the memo of a suite file kept in ``folder`` (None: a memo that keeps nothing)."""
        if folder is None:
            return cls(None)
        return cls(Path(folder) / f"{Path(suite_path).stem}.json")

    def is_vetted(self, entry: dict) -> bool:
        """Whether GX accepted this exact suite entry under the same versions."""
        return digest(entry) in self.vetted

    def remember_vetted(self, entry: dict) -> None:
        """Record that GX accepted a suite entry."""
        key = digest(entry)
        if key not in self.vetted:
            self.vetted.add(key)
            self._changed = True

    def schema_result(self, key: str) -> dict[str, Any] | None:
        """Return the stored outcome of a schema-level check, or None."""
        return self.schema.get(key)

    def remember_schema(self, key: str, row: dict[str, Any]) -> None:
        """Record the outcome of a schema-level check (the ``RESULT_FIELDS`` of its row)."""
        kept = {field: row[field] for field in RESULT_FIELDS}
        if self.schema.get(key) != kept:
            self.schema[key] = kept
            self._changed = True

    def save(self) -> None:
        """Write the memo if it learnt anything (atomically: a reader sees old or new)."""
        if self.path is None or not self._changed:
            return
        document = {"versions": self.versions, "vetted": sorted(self.vetted),
                    "schema": self.schema}
        text = json.dumps(document, sort_keys=True, indent=1)
        write_atomic(self.path, lambda temporary: temporary.write_text(text))
        self._changed = False
