"""The macros of the ``mlmodels_spark`` adapter (see ``dbt.adapters.mlmodels_spark``)."""

import os

PACKAGE_PATH = os.path.dirname(__file__)
