"""dbt-spark with Python models run in the local session: the adapter ``mlmodels_spark``.

dbt-spark runs SQL models in process with ``method: session`` but sends Python models only to
Databricks (its ``job_cluster`` and ``all_purpose_cluster`` helpers are REST clients). This
plugin extends it through dbt's documented seam for that, a ``PythonJobHelper`` named by
``submission_method``, with one more helper, ``session``: the compiled model runs in the
SparkSession dbt-spark's session connection uses (a local Spark, or Spark Connect when
``SPARK_REMOTE`` is set). Everything else is dbt-spark: the plugin depends on it, so its macros
and ``spark__`` overrides apply, and its own macros (``dbt/include/mlmodels_spark``) only change
how a Python model's result is written.

A profile selects it with ``type: mlmodels_spark`` and ``method: session``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from dbt.adapters.base import AdapterPlugin, PythonJobHelper
from dbt.adapters.spark import SparkAdapter, SparkCredentials
from dbt.adapters.spark.connections import SparkConnectionManager
from dbt.include import mlmodels_spark

TYPE = "mlmodels_spark"

# dbt-spark's session cursor applies the profile's server_side_parameters again on every
# statement. Over Spark Connect the static ones were fixed when the server started (from these
# same settings when SPARK_REMOTE=local starts it), and pyspark warns that it cannot change them,
# at every statement of every thread: hundreds per build. Only that refusal is silenced ("once"
# would not do: CPython forgets it whenever any library touches the warning filters).
warnings.filterwarnings("ignore", message=r"Failed to set spark\..* due to \[CANNOT_MODIFY",
                        category=UserWarning, module="pyspark.sql.connect.conf")


@dataclass
class MlmodelsSparkCredentials(SparkCredentials):
    """dbt-spark's credentials under this adapter's type name."""

    @property
    def type(self) -> str:
        """The adapter type a profile names."""
        return TYPE


class MlmodelsSparkConnectionManager(SparkConnectionManager):
    """dbt-spark's connections under this adapter's type name."""

    TYPE = TYPE


class SessionPythonJobHelper(PythonJobHelper):
    """Run a compiled Python model in this process's SparkSession."""

    def __init__(self, parsed_model: dict[str, Any], credentials: SparkCredentials) -> None:
        self.parsed_model = parsed_model
        self.credentials = credentials

    def submit(self, compiled_code: str) -> None:
        """Execute the compiled model (its code, then dbt's code that writes the table)."""
        from pyspark.sql import SparkSession

        # The session dbt-spark's session cursor builds: the same settings, so getOrCreate
        # returns the one the SQL models of this build use.
        builder = SparkSession.builder.enableHiveSupport()
        for name, value in (self.credentials.server_side_parameters or {}).items():
            builder = builder.config(name, value)
        spark = builder.getOrCreate()
        name = f"<dbt python model {self.parsed_model.get('unique_id', '')}>"
        # Running the model's own compiled code is the point (as Databricks' helpers submit it).
        exec(compile(compiled_code, name, "exec"), {"spark": spark, "__name__": "__dbt_model__"})


class MlmodelsSparkAdapter(SparkAdapter):
    """dbt-spark whose Python models run by default in the session (``submission_method``)."""

    ConnectionManager = MlmodelsSparkConnectionManager

    @property
    def default_python_submission_method(self) -> str:
        """``session``: run in process, as the SQL models of ``method: session`` do."""
        return "session"

    @property
    def python_submission_helpers(self) -> dict[str, type[PythonJobHelper]]:
        """dbt-spark's helpers and ``session``."""
        return {**super().python_submission_helpers, "session": SessionPythonJobHelper}

    @classmethod
    def get_adapter_run_info(cls, config: Any) -> Any:
        """Return the run info dbt records, named after this module (not the class name)."""
        from dbt.adapters.__about__ import version as base_version
        from dbt.adapters.base.impl import AdapterTrackingRelationInfo
        from dbt.adapters.mlmodels_spark.__version__ import version

        return AdapterTrackingRelationInfo(
            adapter_name=TYPE, base_adapter_version=base_version, adapter_version=version,
            model_adapter_details=cls._get_adapter_specific_run_info(config))


Plugin = AdapterPlugin(
    adapter=MlmodelsSparkAdapter,  # type: ignore[arg-type]
    credentials=MlmodelsSparkCredentials,
    include_path=mlmodels_spark.PACKAGE_PATH,
    dependencies=["spark"],
)
