"""The data-quality layer: Great Expectations gates, profiles, drafted suites and source gates.

Depends on :mod:`mlmodels.spec` only.
"""

from mlmodels.quality.validation import (
    Suite,
    SuiteError,
    load_suite,
    validate,
    validate_chunked,
    validate_table,
)

__all__ = ["Suite", "SuiteError", "load_suite", "validate", "validate_chunked", "validate_table"]
