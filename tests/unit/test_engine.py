"""The engine seam: every Table operation gives the same answer on DuckDB and on Spark.

The Spark half runs on a local SparkSession (marker ``spark``; Java and pyspark come with the
``spark`` extra); each test is one body run on both engines over the same rows.
"""

import datetime as dt
import os
import pickle
import sys

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlmodels import engine
from mlmodels.engine.spark_table import duckdb_type_name

ROWS = pd.DataFrame({
    "entity_id": [1, 2, 3, 4, 5, 6],
    "as_of_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-02-01",
                                  "2024-03-01", None]),
    "amount": [1.5, None, 3.0, 4.5, 6.0, 7.5],
    "plan": ["a", "b", None, "a", "b", "a"],
    "flag": [True, False, True, False, True, None],
})


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -e '.[spark]')")
    from pyspark.sql import SparkSession

    # Workers must run this interpreter: it has pyarrow and mlmodels.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (SparkSession.builder.master("local[2]").appName("mlmodels-engine-test")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("warehouse")))
               .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    yield session
    session.stop()


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def make(request):
    """Return a function that turns a pandas frame into the engine's relation, wrapped."""
    if request.param == "duckdb":
        con = duckdb.connect()
        request.addfinalizer(con.close)
        return lambda frame: engine.table(con.from_df(frame))
    session = request.getfixturevalue("spark")
    return lambda frame: engine.table(session.createDataFrame(
        pa.Table.from_pandas(frame, preserve_index=False).to_pandas()))


def test_queries_agree(make):
    rows = make(ROWS)
    assert rows.columns == list(ROWS.columns)
    assert rows.count() == 6
    kept = rows.filter("amount > 2 and plan = 'a'").project("entity_id, amount * 2 as twice")
    assert kept.order("entity_id").fetchall() == [(4, 9.0), (6, 15.0)]
    grouped = rows.aggregate(f"{rows.quote('plan')}, count(*), sum(amount)",
                             group_by=rows.quote("plan")).order("plan nulls first").fetchall()
    assert grouped == [(None, 1, 3.0), ("a", 3, 13.5), ("b", 2, 6.0)]
    assert rows.limit(2).count() == 2
    dates = sorted(str(d) for d in rows.distinct_values("as_of_date") if d is not None)
    assert [d[:10] for d in dates] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert rows.filter("as_of_date = date '2024-02-01'").count() == 2


def test_types_are_named_alike(make):
    rows = make(ROWS)
    kinds = dict(zip(rows.columns, rows.types, strict=True))
    assert kinds["amount"] == "DOUBLE" and kinds["plan"] == "VARCHAR"
    assert kinds["flag"] == "BOOLEAN" and kinds["entity_id"] == "BIGINT"
    assert kinds["as_of_date"].startswith("TIMESTAMP")


def test_spark_type_names_map_to_duckdb_names():
    assert [duckdb_type_name(t) for t in ("string", "varchar(20)", "decimal(18,2)", "int",
                                          "date", "timestamp_ntz")] == [
        "VARCHAR", "VARCHAR", "DECIMAL(18,2)", "INTEGER", "DATE", "TIMESTAMP"]


def test_anti_join_keeps_rows_without_a_match_and_null_keys(make):
    rows = make(ROWS.assign(as_of_date=ROWS.as_of_date.fillna(pd.Timestamp("2024-04-01"))))
    held = make(pd.DataFrame({"entity_id": [2, 3, 99], "as_of_date": pd.to_datetime(
        ["2024-01-01", "2024-03-01", "2024-01-01"])}))
    left = sorted(r[0] for r in rows.anti_join(held, ["entity_id", "as_of_date"])
                  .project("entity_id").fetchall())
    assert left == [1, 3, 4, 5, 6]  # 3 is held at another date: kept


def test_sample_is_seeded_and_bounded(make):
    big = make(pd.DataFrame({"i": np.arange(5_000)}))
    first = sorted(r[0] for r in big.sample(500, seed=42).fetchall())
    again = sorted(r[0] for r in big.sample(500, seed=42).fetchall())
    assert first == again and 400 <= len(first) <= 500 and len(set(first)) == len(first)
    assert big.sample(10_000, seed=42).count() == 5_000


def test_rows_read_into_python_alike(make, tmp_path):
    rows = make(ROWS)
    frame = rows.order("entity_id").df()
    assert str(frame.as_of_date.dtype).startswith("datetime64")
    assert frame.amount.isna().tolist() == ROWS.amount.isna().tolist()
    batches = list(rows.arrow_batches(4))
    assert [b.num_rows for b in batches if b.num_rows] in ([4, 2], [2, 4], [3, 3], [6])
    assert rows.arrow_schema().names == list(ROWS.columns)
    rows.write_parquet(str(tmp_path / "rows.parquet"))
    assert pq.read_table(tmp_path / "rows.parquet").num_rows == 6


def test_map_batches_runs_the_function_over_every_row(make):
    schema = pa.schema([("entity_id", pa.int64()), ("double", pa.float64())])

    def double(batches: pa.RecordBatchReader) -> pa.RecordBatchReader:
        def run():
            for batch in batches:
                amount = batch.column("amount").to_numpy(zero_copy_only=False)
                yield pa.RecordBatch.from_arrays(
                    [batch.column("entity_id"), pa.array(amount * 2, pa.float64())],
                    schema=schema)
        return pa.RecordBatchReader.from_batches(schema, run())

    result = make(ROWS).map_batches(double, schema)
    out = (result.read_all().to_pandas() if isinstance(result, pa.RecordBatchReader)
           else result.toPandas())
    out = out.sort_values("entity_id").reset_index(drop=True)
    assert out.entity_id.tolist() == [1, 2, 3, 4, 5, 6]
    np.testing.assert_array_equal(out.double.to_numpy(), ROWS.amount.to_numpy() * 2)


@pytest.mark.spark
def test_collecting_past_the_driver_limit_fails_clearly(spark, monkeypatch):
    rows = engine.table(spark.range(11))
    monkeypatch.setenv("MLMODELS_MAX_DRIVER_ROWS", "10")
    with pytest.raises(engine.DriverMemoryError, match="more than 10 rows"):
        rows.df()
    assert rows.count() == 11  # an aggregate collects one row: allowed


def test_read_table_finds_a_table_beside_the_model(tmp_path):
    class This:
        database, schema = "memory", "main"

    with duckdb.connect() as con:
        assert engine.read_table(con, This, "signal") is None
        con.execute("create table signal as select 1 as x")
        assert engine.read_table(con, This, "signal").fetchall() == [(1,)]


@pytest.mark.spark
def test_read_table_on_spark(spark):
    class This:
        database, schema = None, "default"

    assert engine.read_table(spark, This, "mlmodels_engine_signal") is None
    spark.createDataFrame(pd.DataFrame({"x": [1]})).write.format("parquet").saveAsTable(
        "default.mlmodels_engine_signal")
    assert engine.read_table(spark, This, "mlmodels_engine_signal").fetchall() == [(1,)]


@pytest.mark.parametrize("engine_name", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_an_old_table_gains_the_missing_columns_and_keeps_its_rows(engine_name, request,
                                                                   tmp_path):
    """What a scores table written before the reason codes gets on its next incremental run."""
    from mlmodels.serve import scoring

    old = pd.DataFrame({"entity_id": [1, 2], "score": [0.1, 0.9]})
    if engine_name == "duckdb":
        session = duckdb.connect(str(tmp_path / "w.duckdb"))
        request.addfinalizer(session.close)
        session.execute("create table scores as select * from old")
        this = '"w"."main"."scores"'
    else:
        session = request.getfixturevalue("spark")
        session.createDataFrame(old).write.format("parquet").saveAsTable("default.old_scores")
        request.addfinalizer(lambda: session.sql("drop table if exists default.old_scores"))
        this = "`default`.`old_scores`"
    fields = scoring.EXPLANATION_FIELDS
    assert engine.add_missing_columns(session, this, fields) == fields.names
    held = engine.table(session.sql(f"select * from {this}"))
    assert held.columns == ["entity_id", "score", *fields.names]
    frame = held.df().sort_values("entity_id")
    assert frame.score.tolist() == [0.1, 0.9] and frame[fields.names].isna().all().all()
    assert engine.add_missing_columns(session, this, fields) == []  # a second run adds nothing


def test_a_non_relation_is_refused():
    with pytest.raises(TypeError, match="DuckDB relations and Spark DataFrames"):
        engine.table(pd.DataFrame())


def test_dates_are_literals_both_engines_read():
    from mlmodels.sql import literal

    assert literal(dt.date(2024, 1, 31)) == "date '2024-01-31'"
    assert literal("it's") == "'it''s'" and literal(None) == "null" and literal(True) == "true"



@pytest.fixture
def registered(rows, tmp_path):
    """A registered champion of the toy spec, its spec file, and rows with a score split."""
    import yaml

    from mlmodels.serve.promotion import train_and_register
    from mlmodels.spec import specs
    from tests.unit.toy import SPEC

    frame = train_and_register(rows, specs.from_dict(SPEC), tmp_path)
    assert frame.status.tolist() == ["champion"]
    (tmp_path / "toy.yml").write_text(yaml.safe_dump(SPEC))
    # A month after the champion's fit window (it never scores inside it) to score.
    latest = rows[rows.as_of_date == rows.as_of_date.max()]
    scored = pd.concat([rows, latest.assign(as_of_date=pd.Timestamp("2025-01-01"),
                                            split="score", label=None)], ignore_index=True)
    return frame, {"spec": str(tmp_path / "toy.yml"), "store": str(tmp_path)}, scored


def test_a_scorer_travels_as_verified_bytes_and_is_checked_again(registered):
    from mlmodels.serve import registry, scoring
    from mlmodels.spec import specs

    frame, meta, _ = registered
    scorer = scoring.registered_scorers(frame, specs.load(meta["spec"]))[0]
    copy = pickle.loads(pickle.dumps(scorer))
    assert copy.model_version == scorer.model_version and copy.shipped == scorer.shipped
    data, row = scorer.shipped
    damaged = scoring.Scorer(scorer.pipeline, scorer.spec, scorer.model_version, scorer.role,
                             scorer.threshold, scorer.trained_through,
                             (data[:-1] + bytes([data[-1] ^ 1]), row))
    with pytest.raises(registry.ArtifactError, match="refusing to load it"):
        pickle.loads(pickle.dumps(damaged))
    bare = scoring.Scorer(scorer.pipeline, scorer.spec, scorer.model_version, scorer.role,
                          scorer.threshold)
    with pytest.raises(TypeError, match="carries no verified artifact bytes"):
        pickle.dumps(bare)


@pytest.mark.spark
def test_scores_on_spark_are_those_of_duckdb(registered, spark):
    from mlmodels import workflow

    frame, meta, scored = registered
    with duckdb.connect() as con:
        local = workflow.score(con.from_df(scored), con.from_df(frame), meta).read_all()
    spark_rows = spark.createDataFrame(scored)
    remote = workflow.score(spark_rows, spark.createDataFrame(frame), meta)
    assert type(remote).__module__.startswith("pyspark")  # lazy: run by the workers
    keys = ["entity_id", "as_of_date", "role"]
    ours = local.to_pandas().sort_values(keys).reset_index(drop=True)
    theirs = remote.toPandas().sort_values(keys).reset_index(drop=True)
    assert len(ours) == 200 and list(theirs.columns) == list(ours.columns)
    np.testing.assert_array_equal(theirs.score.to_numpy(), ours.score.to_numpy())
    for column in ("model_version", "entity_id", "predicted_label", "backfill"):
        assert theirs[column].tolist() == ours[column].tolist(), column


@pytest.mark.spark
def test_explanations_on_spark_are_those_of_duckdb(registered, spark, tmp_path):
    """Reason codes are computed inside mapInArrow by the same scorer: the same lists and text."""
    import yaml

    from mlmodels import workflow
    from tests.unit.toy import SPEC

    frame, meta, scored = registered
    (tmp_path / "explain").mkdir()
    spec_file = tmp_path / "explain" / "toy.yml"
    spec_file.write_text(yaml.safe_dump({**SPEC, "explain": {"top_k": 2}}))
    meta = {**meta, "spec": str(spec_file)}  # explain is unversioned: the same champion
    with duckdb.connect() as con:
        local = workflow.score(con.from_df(scored), con.from_df(frame), meta).read_all()
    remote = workflow.score(spark.createDataFrame(scored), spark.createDataFrame(frame), meta)
    keys = ["entity_id", "as_of_date", "role"]
    ours = local.to_pandas().sort_values(keys).reset_index(drop=True)
    theirs = remote.toPandas().sort_values(keys).reset_index(drop=True)
    assert len(ours) == 200 and ours.reasons.notna().all()
    assert theirs.reasons.tolist() == ours.reasons.tolist()
    assert theirs.reason_features.map(list).tolist() == ours.reason_features.map(list).tolist()
    np.testing.assert_allclose(np.stack(theirs.reason_contributions.map(list)),
                               np.stack(ours.reason_contributions.map(list)), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(theirs.raw_score.to_numpy(), ours.raw_score.to_numpy())


@pytest.mark.spark
def test_a_python_model_may_return_pandas_arrow_or_spark(spark):
    from mlmodels.engine.spark_table import to_spark_frame

    frame = pd.DataFrame({"k": [1, 2], "when": pd.to_datetime(["2024-01-01", "2024-02-01"]),
                          "empty": [None, None]})
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    results = [frame, arrow, arrow.to_reader(), spark.createDataFrame(arrow)]
    for result in results:
        out = to_spark_frame(spark, result)
        assert dict(out.dtypes)["k"] == "bigint" and out.count() == 2
        assert dict(out.dtypes)["empty"] in {"string", "void"}
    # The all-null column gets a type Parquet can store.
    assert dict(to_spark_frame(spark, frame).dtypes)["empty"] == "string"
    with pytest.raises(TypeError, match="must return a Spark or pandas DataFrame"):
        to_spark_frame(spark, [1, 2])


# -- DuckDB queries run as SQL text on the relation's connection (duckdb_table._as_text) --------
def _both_ways(relation):
    """The same relation as a text table and as a table of derived relations."""
    from mlmodels.engine.duckdb_table import DuckDBTable

    as_text, as_relations = DuckDBTable(relation), DuckDBTable(relation)
    if as_text._text is None:
        pytest.skip("this duckdb's relations expose no connection: queries stay relations")
    as_relations._text = None
    return as_text, as_relations


QUERIES = [
    "select plan, count(*) as n, sum(amount) as total from {rel} group by plan order by plan",
    "with big as (select * from {rel} where amount > 2) select entity_id from big order by 1 desc",
    ("WITH RECURSIVE steps(n) as (select 1 union all select n + 1 from steps where n < 3) "
     "select n, (select count(*) from {rel}) as rows from steps order by n"),
    "  select * from {rel} order by entity_id desc limit 2",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_a_query_as_text_answers_as_the_relation_does(sql):
    con = duckdb.connect()
    as_text, as_relations = _both_ways(con.from_df(ROWS))
    # Twice nested, so a query over a query (a gate's filter of a partition, then its aggregate).
    def once(t):
        return t.filter("entity_id > 1").query(sql)

    assert once(as_text).fetchall() == once(as_relations).fetchall()
    pd.testing.assert_frame_equal(once(as_text).df(), once(as_relations).df())
    assert once(as_text).columns == once(as_relations).columns
    assert once(as_text).types == once(as_relations).types


def test_a_text_table_keeps_the_frame_it_reads_alive():
    import gc

    con = duckdb.connect()
    # The query is the only reference left to the frame's relation.
    big = engine.table(con.from_df(ROWS.copy())).filter("amount > 2")
    gc.collect()
    assert big.count() == 4
    assert big.arrow_batches(2).read_all().num_rows == 4


def test_a_relation_with_parameters_stays_a_relation():
    con = duckdb.connect()
    table = engine.table(con.sql("select range as n from range(10) where range < ?", params=[4]))
    assert table._text is None  # its text holds a marker, not the value
    assert table.fetchall() == [(0,), (1,), (2,), (3,)]


def test_a_query_over_a_relation_with_parameters_stays_a_relation():
    con = duckdb.connect()
    built_on = engine.table(con.sql("select ? as a union all select 5", params=[1]))
    assert built_on.filter("a > 0").order("a").fetchall() == [(1,), (5,)]


@pytest.mark.parametrize("sql", [
    "-- a comment first\nwith x as (select * from {rel}) select count(*) from x",
    "with mlmodels_rel as (select 5 as a) select * from mlmodels_rel",
    "describe {rel}",
])
def test_text_that_is_not_a_plain_query_goes_through_the_relation(sql):
    con = duckdb.connect()
    as_text, as_relations = _both_ways(con.from_df(ROWS))
    assert as_text.query(sql).fetchall() == as_relations.query(sql).fetchall()


def test_the_relation_named_twice_is_read_twice_as_by_duckdb_s_relations():
    con = duckdb.connect()
    as_text, as_relations = _both_ways(con.sql("select random() as r from range(50)"))
    twice = "select count(*) from {rel} x join {rel} y using (r)"
    assert as_text.query(twice).fetchall() == as_relations.query(twice).fetchall() == [(0,)]


# One column per type the text read converts through Arrow, each with a null, plus text with
# a null, an empty string and non-ASCII characters.
TYPED_ROWS = """
    select * from (values
        (true, 1::tinyint, 2::smallint, 3::integer, 4::bigint, 5::utinyint, 6::ubigint,
         1.5::float, 2.5::double, date '2024-02-29', timestamp '2024-02-29 12:34:56.789',
         12.34::decimal(6,2), 'plan a', 'Zürich'),
        (null, null, null, null, null, null, null, null, null, null, null, null, null, ''),
        (false, -1::tinyint, -2::smallint, -3::integer, 9007199254740993::bigint, 0::utinyint,
         18446744073709551615::ubigint, 'nan'::float, '-inf'::double, date '1970-01-01',
         timestamp '1900-01-01', -0.01::decimal(6,2), '日本', null)
    ) as rows(b, i1, i2, i4, i8, u1, u8, f4, f8, d, ts, dec, t1, t2)
"""


@pytest.mark.parametrize("columns", [
    "*",
    "t1, t2",  # text only: nothing left for DuckDB to convert
    "t1, i4 as t2",  # text beside a number of another name
    "t1, null::varchar as t3",  # text of nulls only: object in DuckDB's conversion
    "t1, i4 from {rel} limit 0 --",  # no rows at all
    "i4, f8, d",  # no text
    "* from {rel} where i4 is not null --",  # no nulls: numpy's dtypes, not the masked ones
    "b, i1, i8, u8, d, ts, dec from {rel} where i4 is null --",  # nulls only
    "t1, uuid() as u",  # a type outside the Arrow path: DuckDB's own .df()
    "t1, t1 as t1",  # repeated names: DuckDB's own .df()
])
def test_a_frame_read_as_text_equals_duckdbs_own(columns):
    con = duckdb.connect()
    table = engine.table(con.sql(TYPED_ROWS)).query(f"select {columns} from {{rel}}")
    if table._text is None:
        pytest.skip("this duckdb's relations expose no connection: frames come from .df()")
    read, own = table.df(), con.execute(table._text.sql).df()
    if "uuid" in columns:  # random per query: compare the kind of value, then the rest
        assert isinstance(read["u"].iloc[0], type(own["u"].iloc[0]))
        read, own = read.drop(columns="u"), own.drop(columns="u")
    pd.testing.assert_frame_equal(read, own, check_exact=True)
    assert list(read.dtypes) == list(own.dtypes)


def test_only_the_columns_arrow_cannot_build_alike_are_converted_by_duckdb():
    from mlmodels.engine import arrow_frames

    con = duckdb.connect()
    if ("VARCHAR", False) not in arrow_frames._probed(con).agreeing:
        pytest.skip("this pandas builds text columns with DuckDB's own conversion")
    converted_by_duckdb = []

    class Recording:
        """The connection, recording which columns DuckDB is asked to convert."""

        def execute(self, sql):
            return con.execute(sql)

        def from_arrow(self, rows):
            converted_by_duckdb.extend(rows.column_names)
            return con.from_arrow(rows)

    sql = f"select *, null::varchar as empty from ({TYPED_ROWS})"
    frame = arrow_frames.read_frame(Recording(), sql)
    assert converted_by_duckdb == ["dec", "empty"]  # decimals, and text with no value
    pd.testing.assert_frame_equal(frame, con.execute(sql).df(), check_exact=True)
    # Each type read here agrees with DuckDB in this environment, with and without a null.
    assert arrow_frames._probed(con).agreeing == {
        (name, with_null) for name in arrow_frames._PROBE for with_null in (False, True)}


def test_a_large_frame_read_through_arrow_equals_duckdbs_own():
    """Arrow tables of several chunks; columns with and without nulls; text of many values."""
    con = duckdb.connect()
    sql = """select i::bigint as i8, (i % 5 = 0) as b, i / 3 as f8,
                    date '2000-01-01' + (i % 9000)::integer as d,
                    'x' || (i % 7) as t, case when i % 3 = 0 then null else i::integer end as i4,
                    case when i % 11 = 0 then null else 'ü' || i end as t2
             from range(300000) as r(i)"""
    table = engine.table(con.sql(sql))
    if table._text is None:
        pytest.skip("this duckdb's relations expose no connection: frames come from .df()")
    assert con.execute(sql).to_arrow_table().column("i8").num_chunks > 1
    read = table.df()
    pd.testing.assert_frame_equal(read, con.execute(sql).df(), check_exact=True)
    read.loc[0, "i8"] = -1  # writable, as DuckDB's own frame is
