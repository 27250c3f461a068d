"""Tests of the synthetic demo world (mlmodels.demo)."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import numpy as np
import pytest

from mlmodels import demo

END = "TIMESTAMP '2025-07-01'"
SNAPSHOT_AFTER = "2024-11-01"  # two months after the regime change


@pytest.fixture(scope="module")
def world() -> tuple[duckdb.DuckDBPyConnection, dict[str, int]]:
    con = duckdb.connect()
    counts = demo.generate(con, customers=5000, seed=42)
    con.execute("CREATE TEMP TABLE ev AS SELECT DISTINCT * FROM raw.events")
    return con, counts


def _one(con: duckdb.DuckDBPyConnection, sql: str):
    return con.execute(sql).fetchone()[0]


def _assert_none(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Assert that a ``SELECT count(*) ...`` query counts nothing."""
    assert _one(con, sql) == 0, sql


def _table(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, np.ndarray]:
    """A table's columns in storage (insertion) order."""
    return con.execute(f"SELECT * FROM raw.{name}").fetchnumpy()


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    if list(a) != list(b):
        return False
    for col, va in a.items():
        vb = b[col]
        mask = np.ma.getmaskarray(va)
        if va.shape != vb.shape or not np.array_equal(mask, np.ma.getmaskarray(vb)):
            return False
        if not np.array_equal(np.ma.getdata(va)[~mask], np.ma.getdata(vb)[~mask]):
            return False
    return True


def _psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    ref = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=edges.size + 1)
    cur = np.bincount(np.searchsorted(edges, current, side="right"), minlength=edges.size + 1)
    ref = np.clip(ref / ref.sum(), 1e-4, None)
    cur = np.clip(cur / cur.sum(), 1e-4, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def _snapshot(con: duckdb.DuckDBPyConnection, as_of: str) -> dict[str, np.ndarray]:
    """30-day revenue and 90-day average order value of the customers active at ``as_of``."""
    return con.execute(
        f"""
        SELECT
            coalesce(sum(e.amount) FILTER (WHERE e.occurred_at >= d - INTERVAL 30 DAY), 0) AS rev30,
            avg(e.amount) AS aov90
        FROM raw.customers c
        CROSS JOIN (SELECT TIMESTAMP '{as_of}' AS d)
        LEFT JOIN ev e ON e.customer_id = c.customer_id AND e.event_type = 'order'
            AND e.occurred_at < d AND e.occurred_at >= d - INTERVAL 90 DAY
        WHERE c.signup_at < d AND (c.cancelled_at IS NULL OR c.cancelled_at >= d)
        GROUP BY c.customer_id
        """
    ).fetchnumpy()


def test_schema_and_counts(world):
    con, counts = world
    expected = {
        "customers": [
            ("customer_id", "BIGINT"),
            ("signup_at", "TIMESTAMP"),
            ("region", "VARCHAR"),
            ("acquisition_channel", "VARCHAR"),
            ("cancelled_at", "TIMESTAMP"),
        ],
        "plan_history": [
            ("customer_id", "BIGINT"),
            ("plan", "VARCHAR"),
            ("valid_from", "TIMESTAMP"),
        ],
        "events": [
            ("event_id", "BIGINT"),
            ("customer_id", "BIGINT"),
            ("event_type", "VARCHAR"),
            ("occurred_at", "TIMESTAMP"),
            ("amount", "DOUBLE"),
        ],
    }
    tables = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' ORDER BY 1"
    ).fetchall()
    assert sorted(t for (t,) in tables) == sorted(expected)
    for table, columns in expected.items():
        got = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'raw' AND table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
        assert got == columns
        assert counts[table] == _one(con, f"SELECT count(*) FROM raw.{table}")
    assert counts["customers"] == 5000
    assert _one(con, "SELECT count(DISTINCT customer_id) FROM raw.customers") == 5000
    assert _one(con, "SELECT min(customer_id) FROM raw.customers") == 1
    # ~50+ events per customer so that 1M customers give 50M+ events
    assert counts["events"] / counts["customers"] >= 50


def test_categorical_domains(world):
    con, _ = world
    regions = {r for (r,) in con.execute("SELECT DISTINCT region FROM raw.customers").fetchall()}
    channels = {
        c
        for (c,) in con.execute("SELECT DISTINCT acquisition_channel FROM raw.customers").fetchall()
    }
    plans = {p for (p,) in con.execute("SELECT DISTINCT plan FROM raw.plan_history").fetchall()}
    types = {t for (t,) in con.execute("SELECT DISTINCT event_type FROM raw.events").fetchall()}
    assert regions == set(demo.REGIONS)
    assert channels == set(demo.CHANNELS)
    assert plans == {"basic", "standard", "premium"}
    assert types == {"order", "cancellation"}
    _assert_none(
        con,
        "SELECT count(*) FROM raw.customers WHERE region IS NULL "
        "OR acquisition_channel IS NULL OR signup_at IS NULL",
    )


def test_deterministic_and_chunk_invariant():
    a, b, c = duckdb.connect(), duckdb.connect(), duckdb.connect()
    demo.generate(a, customers=700, seed=7)
    demo.generate(b, customers=700, seed=7)
    demo.generate(c, customers=700, seed=7, chunk_customers=123)
    for table in ("customers", "plan_history", "events"):
        ta = _table(a, table)
        assert _same(ta, _table(b, table)), table
        assert _same(ta, _table(c, table)), table


def test_different_seed_differs():
    a, b = duckdb.connect(), duckdb.connect()
    demo.generate(a, customers=300, seed=1)
    demo.generate(b, customers=300, seed=2)
    for table in ("customers", "events"):
        assert not _same(_table(a, table), _table(b, table)), table


def test_regenerate_replaces_schema():
    con = duckdb.connect()
    demo.generate(con, customers=200, seed=3)
    counts = demo.generate(con, customers=100, seed=3)
    assert _one(con, "SELECT count(*) FROM raw.customers") == 100 == counts["customers"]


def test_cancellation_rules(world):
    con, _ = world
    # at most one cancellation per customer, with a NULL amount
    most = _one(
        con,
        """
        SELECT max(n) FROM (SELECT customer_id, count(*) n FROM ev
                            WHERE event_type = 'cancellation' GROUP BY 1)""",
    )
    assert most == 1
    _assert_none(
        con, "SELECT count(*) FROM ev WHERE event_type = 'cancellation' AND amount IS NOT NULL"
    )
    _assert_none(
        con,
        "SELECT count(*) FROM ev WHERE event_type = 'order' AND (amount IS NULL OR amount <= 0)",
    )
    # nothing after (or at) the cancellation
    _assert_none(
        con,
        """
        SELECT count(*) FROM ev o JOIN ev c USING (customer_id)
        WHERE c.event_type = 'cancellation' AND o.event_type = 'order'
          AND o.occurred_at >= c.occurred_at""",
    )
    # no events before signup or after the end of the data
    _assert_none(
        con,
        f"""
        SELECT count(*) FROM ev JOIN raw.customers USING (customer_id)
        WHERE occurred_at < signup_at OR occurred_at >= {END}""",
    )
    # the trap column is exactly the cancellation event time (NULL when still active)
    _assert_none(
        con,
        """
        SELECT count(*) FROM raw.customers c
        LEFT JOIN ev e ON e.customer_id = c.customer_id AND e.event_type = 'cancellation'
        WHERE c.cancelled_at IS DISTINCT FROM e.occurred_at""",
    )
    share = _one(con, "SELECT avg((cancelled_at IS NOT NULL)::INT) FROM raw.customers")
    assert 0.3 < share < 0.8


def test_plan_history(world):
    con, _ = world
    # the first row of every customer is at signup
    _assert_none(
        con,
        """
        SELECT count(*) FROM raw.customers c JOIN (
            SELECT customer_id, min(valid_from) first_from, count(*) FILTER (
                WHERE valid_from = (SELECT min(valid_from) FROM raw.plan_history p2
                                    WHERE p2.customer_id = p.customer_id)) n_first
            FROM raw.plan_history p GROUP BY 1
        ) h USING (customer_id)
        WHERE h.first_from <> c.signup_at OR n_first <> 1""",
    )
    assert _one(con, "SELECT count(DISTINCT customer_id) FROM raw.plan_history") == 5000
    # changes happen before the cancellation and before the end, and change the plan
    _assert_none(
        con,
        f"""
        SELECT count(*) FROM raw.plan_history p JOIN raw.customers c USING (customer_id)
        WHERE p.valid_from >= coalesce(c.cancelled_at, {END})""",
    )
    _assert_none(
        con,
        """
        SELECT count(*) FROM (
            SELECT plan, lag(plan) OVER (PARTITION BY customer_id ORDER BY valid_from) prev
            FROM raw.plan_history) WHERE plan = prev""",
    )
    changed = _one(
        con,
        """
        SELECT avg((n > 1)::INT) FROM (
            SELECT customer_id, count(*) n FROM raw.plan_history GROUP BY 1)""",
    )
    assert 0.15 <= changed <= 0.35
    # downgrades are much more frequent in the 90 days before a cancellation
    near, far = con.execute("""
        WITH ch AS (
            SELECT p.customer_id, p.valid_from, c.cancelled_at,
                   CASE p.plan WHEN 'basic' THEN 0 WHEN 'standard' THEN 1 ELSE 2 END
                 < CASE lag(p.plan) OVER (PARTITION BY p.customer_id ORDER BY p.valid_from)
                   WHEN 'basic' THEN 0 WHEN 'standard' THEN 1 WHEN 'premium' THEN 2 END AS down,
                   row_number() OVER (PARTITION BY p.customer_id ORDER BY p.valid_from) rn
            FROM raw.plan_history p JOIN raw.customers c USING (customer_id))
        SELECT avg(down::INT) FILTER (WHERE cancelled_at - valid_from <= INTERVAL 90 DAY),
               avg(down::INT) FILTER (WHERE cancelled_at IS NULL)
        FROM ch WHERE rn > 1""").fetchone()
    assert near > far + 0.2


def test_no_midnight_timestamps(world):
    con, _ = world
    for table, col in [
        ("customers", "signup_at"),
        ("customers", "cancelled_at"),
        ("plan_history", "valid_from"),
        ("events", "occurred_at"),
    ]:
        _assert_none(
            con, f"SELECT count(*) FROM raw.{table} WHERE {col} = date_trunc('day', {col})"
        )
        _assert_none(
            con, f"SELECT count(*) FROM raw.{table} WHERE {col} <> date_trunc('second', {col})"
        )
    # times are spread over the day
    hours = _one(con, "SELECT count(DISTINCT hour(occurred_at)) FROM raw.events")
    assert hours == 24


def test_duplicates_are_exact(world):
    con, counts = world
    total = counts["events"]
    distinct_ids = _one(con, "SELECT count(DISTINCT event_id) FROM raw.events")
    distinct_rows = _one(con, "SELECT count(*) FROM ev")
    assert distinct_ids == distinct_rows  # duplicates are identical in every column
    dup_share = (total - distinct_rows) / total
    assert 0.0015 < dup_share < 0.0045
    copies = _one(con, "SELECT max(n) FROM (SELECT count(*) n FROM raw.events GROUP BY event_id)")
    assert copies == 2
    assert _one(con, "SELECT min(event_id) FROM raw.events") == 1
    assert _one(con, "SELECT max(event_id) FROM raw.events") == distinct_ids


def test_signups(world):
    con, _ = world
    first_month, last = con.execute("""
        SELECT avg((signup_at < TIMESTAMP '2023-02-01')::INT), max(signup_at)
        FROM raw.customers""").fetchone()
    assert 0.25 < first_month < 0.35
    assert datetime(2025, 6, 1) < last < datetime(2025, 7, 1)
    # Newcomers in every month up to the end: a population without them would age, and its
    # mean order frequency would drift up at the last as_ofs (a false alarm of the gates).
    months = _one(con, "SELECT count(DISTINCT date_trunc('month', signup_at)) FROM raw.customers")
    assert months == 30
    social_before, social_after = con.execute(f"""
        SELECT avg((acquisition_channel = 'paid_social')::INT)
                   FILTER (WHERE signup_at < TIMESTAMP '{demo.REGIME_CHANGE_DATE}'),
               avg((acquisition_channel = 'paid_social')::INT)
                   FILTER (WHERE signup_at >= TIMESTAMP '{demo.REGIME_CHANGE_DATE}')
        FROM raw.customers""").fetchone()
    assert social_after > social_before + 0.2


def test_base_rate_at_month_starts(world):
    con, _ = world
    rates = con.execute(f"""
        WITH dates AS (
            SELECT unnest(generate_series(TIMESTAMP '2023-02-01', TIMESTAMP '2025-04-01',
                                          INTERVAL 1 MONTH)) AS d)
        SELECT d, avg(coalesce(c.cancelled_at < d + INTERVAL 90 DAY, false)::INT)
        FROM dates JOIN raw.customers c
          ON c.signup_at < d AND (c.cancelled_at IS NULL OR c.cancelled_at >= d)
        WHERE d + INTERVAL 90 DAY <= {END}
        GROUP BY d ORDER BY d""").fetchall()
    assert len(rates) == 27
    mean = float(np.mean([r for _, r in rates]))
    assert 0.10 <= mean <= 0.25
    # the price increase raises churn
    before = np.mean([r for d, r in rates if d.date() < date(2024, 9, 1)])
    after = np.mean([r for d, r in rates if d.date() >= date(2024, 11, 1)])
    assert after > before


def test_regime_change_shifts_order_values(world):
    con, _ = world
    ref = _snapshot(con, "2024-06-01")
    stable = _snapshot(con, "2024-07-01")
    shifted = _snapshot(con, SNAPSHOT_AFTER)
    assert _psi(ref["rev30"], stable["rev30"]) < 0.1
    assert _psi(ref["rev30"], shifted["rev30"]) > 0.2
    aov = {
        k: np.ma.compressed(v["aov90"])
        for k, v in {"ref": ref, "stable": stable, "shifted": shifted}.items()
    }
    assert _psi(aov["ref"], aov["stable"]) < 0.1
    assert _psi(aov["ref"], aov["shifted"]) > 0.2
    # and an early pair of pre-change months is stable too
    early, later = _snapshot(con, "2023-06-01"), _snapshot(con, "2023-07-01")
    assert _psi(early["rev30"], later["rev30"]) < 0.1


def test_churners_disengage(world):
    con, _ = world
    # order counts in the 30 days before a month start are lower for those cancelling next
    lo, hi = con.execute("""
        WITH s AS (
            SELECT c.customer_id, coalesce(c.cancelled_at < d + INTERVAL 90 DAY, false) AS label,
                   (SELECT count(*) FROM ev e WHERE e.customer_id = c.customer_id
                      AND e.event_type = 'order' AND e.occurred_at < d
                      AND e.occurred_at >= d - INTERVAL 30 DAY) AS n30
            FROM raw.customers c, (SELECT TIMESTAMP '2024-03-01' AS d)
            WHERE c.signup_at < d - INTERVAL 60 DAY
              AND (c.cancelled_at IS NULL OR c.cancelled_at >= d))
        SELECT avg(n30) FILTER (WHERE label), avg(n30) FILTER (WHERE NOT label) FROM s
        """).fetchone()
    assert lo < 0.75 * hi


def test_invalid_arguments():
    con = duckdb.connect()
    with pytest.raises(ValueError):
        demo.generate(con, customers=0)
    with pytest.raises(ValueError):
        demo.generate(con, customers=10, months=2)
    with pytest.raises(ValueError):
        demo.generate(con, customers=10, chunk_customers=0)


def test_constants():
    assert demo.REGIME_CHANGE_DATE == date(2024, 9, 1)
    assert demo.DEFAULT_START == date(2023, 1, 1)
    assert demo.DEFAULT_MONTHS == 30
    assert "price" in (demo.__doc__ or "")
