"""The serving layer: the signed artifact registry, champion / challenger promotion and scoring.

Depends on :mod:`mlmodels.learn` and :mod:`mlmodels.spec`.
"""

from mlmodels.serve.promotion import train_and_register
from mlmodels.serve.registry import ArtifactError, ModelRegistry, load_verified
from mlmodels.serve.scoring import score_registered

__all__ = ["ArtifactError", "ModelRegistry", "load_verified", "score_registered",
           "train_and_register"]
