"""What Great Expectations answered about inputs it sees whole, kept between builds.

Two of GX's answers in a gate depend on nothing but their inputs and the installed versions:
whether a suite entry is an expectation GX accepts (its type and kwargs), and the outcome of a
schema-level expectation on a probe that holds only the mart's columns and dtypes. A gate that
has them from an earlier build of the same suite need not import GX at all (about 2 s of a
demo build's 30 s). An entry or a schema that changed has another key and goes to GX again;
the memo is an optimisation only: a missing, stale or unreadable file means asking GX.

The file is one JSON document per suite file, under the gate's report folder (inside the
project's target directory), replaced atomically. Two gates never share one. Like the rest of
the target directory it is trusted: whoever can write it can change what the gate reports, as
they could by editing the suite. What it guards against is staleness, not tampering: an outcome
stored in any other shape is dropped, and the run's own fields (column, severity, rows, run_at)
always come from the run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from mlmodels import __version__
from mlmodels.files import write_atomic

log = logging.getLogger(__name__)

# What a schema-level result keeps: the rest (column, kwargs, rows, run_at) is the run's own.
RESULT_FIELDS = ("success", "observed_value", "unexpected_count", "unexpected_percent",
                 "unexpected_values")


# The code that asks GX and builds the probe: an edit to it (even in an editable install, where
# the package version stays the same) makes every stored answer stale.
_ASKING_CODE = [Path(__file__).with_name(name) for name in ("validation.py", "gx_memo.py")]


@functools.cache
def _versions() -> dict[str, str]:
    """Return what GX's answers depend on besides their inputs: versions, and our own code.

    Once per process: the packages and the code it has imported cannot change under it, and
    reading metadata and hashing the code took ~11 ms of every gate.
    """
    versions = {"mlmodels": __version__, "python": platform.python_version(),
                "code": hashlib.sha256(b"".join(p.read_bytes() for p in _ASKING_CODE)).hexdigest()}
    # pydantic: GX checks kwargs through it. Read from package metadata, not by importing.
    for package in ("great_expectations", "pydantic", "pandas", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    return versions


def key_text(value: Any) -> str:
    """Return JSON text that tells apart every value a suite can hold (NaN is not null)."""
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def digest(value: Any) -> str:
    """Return a stable key for a JSON-like value (sorted keys, so equal values match)."""
    return hashlib.sha256(key_text(value).encode()).hexdigest()


def _well_formed(entry: Any) -> bool:
    """Whether a stored outcome has exactly the result fields, with a real boolean success."""
    return (isinstance(entry, dict) and set(entry) == set(RESULT_FIELDS)
            and isinstance(entry["success"], bool))


class GxMemo:
    """GX's answers for one suite file, loaded from ``path`` (None: remember nothing).

    ``vetted`` holds the keys of suite entries GX accepted; ``schema`` the outcome of each
    schema-level check by its key (the expectation, its kwargs and the dtypes it looked at).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        # Only a memo kept in a file needs them (read once per process, on the first gate).
        self.versions = dict(_versions()) if path is not None else {}  # a copy of the cached
        self.vetted: set[str] = set()
        self.schema: dict[str, dict[str, Any]] = {}
        self._changed = False
        if path is None or not path.is_file():
            return
        try:
            stored = json.loads(path.read_text())
            if stored.get("versions") == self.versions:
                self.vetted = {key for key in stored["vetted"] if isinstance(key, str)}
                # An outcome of any other shape is dropped (GX is asked again), never read: a
                # missing or non-boolean success must not turn into a pass.
                self.schema = {str(key): dict(value) for key, value in stored["schema"].items()
                               if _well_formed(value)}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            # Unreadable or from another layout: start empty and let GX answer again.
            self.vetted, self.schema = set(), {}

    @classmethod
    def for_suite(cls, folder: str | Path | None, suite_path: str | Path) -> GxMemo:
        """Return the memo of a suite file kept in ``folder`` (None: a memo that keeps nothing)."""
        if folder is None:
            return cls(None)
        # Named by the suite's stem and its path, so suites of one name in two folders do not
        # overwrite each other's memo.
        where = hashlib.sha256(str(Path(suite_path).resolve()).encode()).hexdigest()[:12]
        return cls(Path(folder) / f"{Path(suite_path).stem}-{where}.json")

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
        """Write the memo if it learnt anything (atomically: a reader sees old or new).

        A memo that cannot be written is logged and skipped: the gate's results stand, and the
        next build asks GX again.
        """
        if self.path is None or not self._changed:
            return
        document = {"versions": self.versions, "vetted": sorted(self.vetted),
                    "schema": self.schema}
        text = json.dumps(document, sort_keys=True, indent=1)
        try:
            write_atomic(self.path, lambda temporary: temporary.write_text(text))
        except OSError as error:
            log.warning("GX memo %s not written (%s): the next build asks GX again",
                        self.path, error)
            return
        self._changed = False
