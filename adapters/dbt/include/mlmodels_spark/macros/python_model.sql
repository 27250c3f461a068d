{#- How a Python model's result becomes a table on Spark (replaces dbt-spark's py_write_table).

    dbt-spark's version writes Delta unless file_format says otherwise, ignores partition_by,
    and converts pandas through pandas-on-Spark. Here the model may return a Spark DataFrame,
    a pandas DataFrame or Arrow (a Table or a RecordBatchReader): mlmodels.engine turns each
    into a Spark DataFrame with the same columns, and the table is written in the model's
    file_format (Parquet by default), partitioned by its partition_by. -#}
{% macro py_write_table(compiled_code, target_relation) %}
{{ compiled_code }}
# --- Written by the mlmodels_spark adapter: the model's result saved as a table. --- #
dbt = dbtObj(spark.table)
df = model(dbt, spark)

from mlmodels.engine.spark_table import to_spark_frame

writer = to_spark_frame(spark, df).write.mode("overwrite").format("{{ config.get('file_format', 'parquet') }}")
{%- set partition_by = config.get('partition_by') %}
{%- if partition_by %}
writer = writer.partitionBy(*{{ ([partition_by] if partition_by is string else partition_by) | tojson }})
{%- endif %}
writer.saveAsTable("{{ target_relation }}")
{%- endmacro -%}
