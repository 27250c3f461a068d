"""The learning layer: pipelines, time-ordered splits, training, evaluation and drift numbers.

Depends on :mod:`mlmodels.spec` only; knows nothing of the registry, the warehouse or dbt.
"""

from mlmodels.learn.drift import psi
from mlmodels.learn.pipelines import build_pipeline, feature_frame
from mlmodels.learn.splits import SplitError, time_ordered_folds
from mlmodels.learn.training import LeakageError, TrainedModel, TrainingDataError, fit

__all__ = [
    "LeakageError", "SplitError", "TrainedModel", "TrainingDataError", "build_pipeline",
    "feature_frame", "fit", "psi", "time_ordered_folds",
]
