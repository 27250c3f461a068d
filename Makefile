# The two commands of the README: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CUSTOMERS ?= 5000

# Absolute paths, so dbt and the Python models find everything wherever they run from.
export DUCKDB_PATH ?= $(CURDIR)/warehouse/demo.duckdb
export MLMODELS_ARTIFACT_DIR ?= $(CURDIR)/warehouse/artifacts
export MLMODELS_EXPORT_DIR ?= $(CURDIR)/warehouse/exports
export DBT_PROJECT_DIR := $(CURDIR)/dbt_project
export DBT_PROFILES_DIR := $(CURDIR)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: install deps demo demo-spark test lint clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark,boosting,explain]'
	touch $@

install: $(BIN)/.installed

# The framework's dbt package is local (mlmodels/dbt): dbt deps links it, offline.
deps: install
	cd dbt_project && ../$(BIN)/dbt deps --quiet

demo: deps
	$(BIN)/mlmodels generate-demo --db $(DUCKDB_PATH) --customers $(CUSTOMERS)
	cd dbt_project && ../$(BIN)/dbt build
	$(BIN)/mlmodels summary --db $(DUCKDB_PATH)
	$(BIN)/mlmodels report churn --db $(DUCKDB_PATH) --out dbt_project/target/model_reports
	$(BIN)/mlmodels report spend --db $(DUCKDB_PATH) --out dbt_project/target/model_reports

# The same demo on a local Apache Spark (profiles.yml target spark; Java 17): raw tables copied
# into a Parquet warehouse, then the same dbt build. Its own artifact store and exports.
SPARK_DIR := $(CURDIR)/warehouse/spark
demo-spark: deps
	$(BIN)/mlmodels generate-demo --db $(SPARK_DIR)/source.duckdb --customers $(CUSTOMERS) \
		--spark-warehouse $(SPARK_DIR)/tables
	cd dbt_project && SPARK_WAREHOUSE=$(SPARK_DIR)/tables PYSPARK_PYTHON=$(CURDIR)/$(BIN)/python \
		MLMODELS_ARTIFACT_DIR=$(SPARK_DIR)/artifacts MLMODELS_EXPORT_DIR=$(SPARK_DIR)/exports \
		../$(BIN)/dbt build --target spark
	$(BIN)/mlmodels summary --tables $(SPARK_DIR)/tables/analytics.db
	$(BIN)/mlmodels report churn --tables $(SPARK_DIR)/tables/analytics.db --out $(SPARK_DIR)/model_reports
	$(BIN)/mlmodels report spend --tables $(SPARK_DIR)/tables/analytics.db --out $(SPARK_DIR)/model_reports

test: deps
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf warehouse dbt_project/target dbt_project/logs dbt_project/dbt_packages
