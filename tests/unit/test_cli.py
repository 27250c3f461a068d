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
