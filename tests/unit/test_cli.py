from mlmodels import cli


def test_generate_demo_then_summary_before_any_build(tmp_path, capsys):
    db = tmp_path / "demo.duckdb"
    assert cli.main(["generate-demo", "--db", str(db), "--customers", "200"]) == 0
    assert "raw.customers: 200 rows" in capsys.readouterr().out
    assert cli.main(["summary", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert str(db) in out
    assert "ml_model_registry" in out and "(not built)" in out


def test_summary_without_a_warehouse_says_what_to_do(tmp_path, capsys):
    assert cli.main(["summary", "--db", str(tmp_path / "none.duckdb")]) == 1
    assert "make demo" in capsys.readouterr().err


def test_summary_reads_parquet_tables_as_a_spark_build_leaves_them(tmp_path, capsys):
    import duckdb

    tables = tmp_path / "analytics.db"
    (tables / "not_a_table_yet").mkdir(parents=True)  # no files: skipped, "(not built)"
    with duckdb.connect() as con:
        con.execute("copy (select 'churn' as model_name, 'v1' as model_version, 'champion' as "
                    "status, 'pr_auc' as selection_metric, 0.5 as test_score, 0.1 as "
                    "baseline_prior_test_score, null::double as baseline_rule_test_score, "
                    "now() as trained_at) "
                    f"to '{tables / 'ml_model_registry'}' (format parquet, per_thread_output)")
        # Partitioned as Spark writes it (as_of_date=... folders): the key comes back a column.
        con.execute("copy (select range as customer_id, date '2025-01-01' + range::int as "
                    "as_of_date from range(3)) "
                    f"to '{tables / 'ml_churn__training_set'}' (format parquet, "
                    "partition_by (as_of_date))")
    assert cli.main(["summary", "--tables", str(tables)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"Parquet tables: {tables.resolve()}"
    assert "ml_churn__training_set                3 rows" in out
    assert "  ml_churn__predictions        (not built)" in out
    assert "model churn v1 [champion]: test pr_auc 0.500 (prior 0.100, no rule)" in out
    assert cli.main(["summary", "--tables", str(tmp_path / "elsewhere")]) == 1
    assert "no Parquet tables" in capsys.readouterr().err


def test_db_and_tables_are_one_or_the_other(tmp_path, capsys):
    import pytest

    with pytest.raises(SystemExit):
        cli.main(["summary", "--db", str(tmp_path / "a.duckdb"), "--tables", str(tmp_path)])
    assert "not allowed with argument" in capsys.readouterr().err
