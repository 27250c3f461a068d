"""Render model reports in headless Chromium and check the screenshot is a real page."""

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import duckdb
import numpy as np
import pytest

from mlmodels.reports import model_page
from tests.unit.test_model_report import build_warehouse

DEMO = Path(__file__).resolve().parents[2] / "warehouse" / "demo.duckdb"
CHROMIUM = next((found for name in ("chromium", "chromium-browser", "google-chrome")
                 if (found := shutil.which(name))), None)
WIDTH, HEIGHT = 1400, 4000

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH (apt-get install chromium)")


def screenshot(page: Path, png: Path) -> Path:
    """Screenshot a local HTML file with headless Chromium (its own profile folder)."""
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--user-data-dir={png.parent / 'chromium-profile'}", f"--screenshot={png}",
         f"--window-size={WIDTH},{HEIGHT}", page.resolve().as_uri()],
        check=True, capture_output=True, timeout=90,
    )
    return png


def png_facts(png: Path) -> tuple[int, int, int]:
    """Return the width, height and number of distinct byte values of a PNG's pixel data.

    No PIL needed. Measured with Chromium at 1400x4000: an empty page gives 4 distinct values
    in a 25 kB file, one line of text 170 in 27 kB, a model report all 256 in 300 kB or more.
    """
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    chunks, offset = [], 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind == b"IDAT":
            chunks.append(data[offset + 8:offset + 8 + length])
        offset += 12 + length
    pixels = np.frombuffer(zlib.decompress(b"".join(chunks)), dtype=np.uint8)
    return width, height, int(np.count_nonzero(np.bincount(pixels, minlength=256)))


def test_report_renders_to_a_non_blank_page(tmp_path):
    db = build_warehouse(tmp_path / "wh.duckdb")
    with duckdb.connect(str(db), read_only=True) as con:
        page = model_page.write_model_report(con, "toy", tmp_path / "reports")
    png = screenshot(page, tmp_path / "toy.png")
    width, height, distinct = png_facts(png)
    assert (width, height) == (WIDTH, HEIGHT)
    assert distinct > 200 and png.stat().st_size > 150_000  # far from a blank or bare page


@pytest.mark.skipif(not DEMO.is_file(), reason=f"no demo warehouse at {DEMO} (make demo)")
def test_demo_churn_champion_renders(tmp_path):
    try:
        con = duckdb.connect(str(DEMO), read_only=True)
    except duckdb.IOException as error:  # a dbt build holds the write lock right now
        pytest.skip(f"demo warehouse is locked: {error}")
    with con:
        page = model_page.write_model_report(con, "churn", tmp_path / "reports")
    png = screenshot(page, tmp_path / "churn.png")
    width, height, distinct = png_facts(png)
    assert (width, height) == (WIDTH, HEIGHT)
    assert distinct > 200 and png.stat().st_size > 150_000
