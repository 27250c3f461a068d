"""Atomic file writes: a reader sees the old complete file or the new one, never a half-written one.

A leaf module every layer may use (registry artifacts, report pages, Parquet exports).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomic(target: Path, write: Callable[[Path], object], mode: int | None = None) -> None:
    """Let ``write`` fill a temporary file beside ``target``, then rename it over ``target``.

    Parameters
    ----------
    target
        The file to create or replace; its folder is created if missing.
    write
        Called with the temporary file's path (an empty file that exists); it writes the content.
    mode
        Permission bits for the new file. ``mkstemp`` creates it readable by its owner only,
        which suits artifacts and keys; pages for everyone pass ``0o644``.

    The temporary file is flushed to disk before the rename (a crash leaves the old file), and
    removed when ``write`` fails.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(descriptor)
    temporary = Path(name)
    try:
        write(temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_text_atomic(target: Path, text: str, mode: int | None = None) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically (see :func:`write_atomic`)."""
    write_atomic(target, lambda path: path.write_text(text, encoding="utf-8"), mode)
