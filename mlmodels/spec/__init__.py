"""The spec layer: a model's YAML, validated into a :class:`ModelSpec` (imports no other layer).

Layers, lowest first: ``spec`` -> ``learn`` -> ``serve``; ``quality`` and ``reports`` stand beside
``learn`` on ``spec`` alone; ``workflow`` (what dbt models call), ``checks``, ``cli`` and
``scaffold`` sit on top. See docs/architecture.md.
"""

from mlmodels.spec.estimators import CLASSIFIERS, REGRESSORS, estimators_for
from mlmodels.spec.specs import (
    HIGHER_IS_BETTER,
    PSI_DRIFT,
    PSI_MODERATE,
    TASK_METRICS,
    ModelSpec,
    SpecError,
    from_dict,
    load,
)
from mlmodels.spec.threshold_policy import parse_threshold_policy

__all__ = [
    "CLASSIFIERS", "HIGHER_IS_BETTER", "PSI_DRIFT", "PSI_MODERATE", "REGRESSORS", "TASK_METRICS",
    "ModelSpec", "SpecError", "estimators_for", "from_dict", "load", "parse_threshold_policy",
]
