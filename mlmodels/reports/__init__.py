"""Static HTML pages: the data-quality page and the model page, on one HTML / SVG toolkit.

Depends on :mod:`mlmodels.spec` only (the pages read the warehouse tables, not the code that
wrote them).
"""

from mlmodels.reports.model_page import render_model_report, write_model_report
from mlmodels.reports.quality_page import render_report, write_report

__all__ = ["render_model_report", "render_report", "write_model_report", "write_report"]
