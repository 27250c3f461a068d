"""mlmodels: declarative, warehouse-native machine learning for dbt projects."""

import os

__version__ = "0.1.0"

# Inside `dbt build`, OpenMP workers (HistGradientBoosting) that spin while waiting fight
# DuckDB's threads for the cores: a fit measured 104 s instead of 2 s on 2 cores. Passive
# waiting removes that. It must be set before scikit-learn loads its OpenMP runtime, hence here;
# an explicit setting by the user wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
