"""DESIGN.md invariants 1-3, each checked on real dbt builds and shown to fail when broken.

Every test is parametrised with `sabotage`: None builds the project as it is and the invariant
must hold; otherwise the named guard is broken in the project copy first (e.g. `<` becomes `<=`)
and the same check must catch it. That is how we know the checks can fail.
"""

from decimal import Decimal

import pandas as pd
import pytest

from tests.integration.helpers import PACKAGE_COPY, new_warehouse

pytestmark = pytest.mark.slow

# Models only: dbt's data tests would stop a sabotaged build before the check sees it.
MODELS_ONLY = ("--exclude-resource-type", "test")
CUTOFF = "2024-03-01"  # an as_of date in the middle of the demo's history
HORIZON_DAYS = 90

FEATURE_SABOTAGE = {
    "pit_window <= instead of <": (
        PACKAGE_COPY + "/macros/pit_window.sql", "{{ ts }} < {{ window_end }}", "{{ ts }} <= {{ window_end }}"),
    "asof join <= instead of <": (
        PACKAGE_COPY + "/macros/asof_left_join.sql",
        "and {{ alias }}.{{ right_ts }} < {{ left_ts }}\n{%- endmacro %}",
        "and {{ alias }}.{{ right_ts }} <= {{ left_ts }}\n{%- endmacro %}"),
}
LABEL_SABOTAGE = {
    "label window opens after as_of": (
        PACKAGE_COPY + "/macros/label_window.sql", "{{ ts }} >= {{ as_of }}", "{{ ts }} > {{ as_of }}"),
    "label window closes after as_of + horizon": (
        PACKAGE_COPY + "/macros/label_window.sql",
        "{{ ts }} < {{ dbt.dateadd('day', horizon_days, as_of) }}",
        "{{ ts }} <= {{ dbt.dateadd('day', horizon_days, as_of) }}"),
}
SPLIT_SABOTAGE = {
    "no embargo": (
        # The spec refuses an embargo shorter than the horizon, so the sabotage bypasses it:
        # the training set calls the macro the spec drives with the same values and no embargo.
        "models/ml/churn/ml_churn__training_set.sql",
        ("{{ mlmodels.ml_training_set('churn', mart=ref('feat_customer__as_of'), "
         "events=ref('stg_demo__events')) }}"),
        ("{{ mlmodels.training_set(mart=ref('feat_customer__as_of'), events=ref('stg_demo__events'), "
         "entity_key='customer_id', as_of='as_of_date', timestamp='occurred_at', horizon_days=90, "
         "label_name='churned_90d', where=\"event_type = 'cancellation'\", valid_periods=3, "
         "test_periods=3, embargo_days=0) }}")),
}


def sabotaged(tmp_path, sabotage, catalogue):
    warehouse = new_warehouse(tmp_path, customers=1500)
    if sabotage:
        warehouse.edit(*catalogue[sabotage])
    return warehouse


def change_the_future(warehouse, cutoff: str) -> None:
    """Change or delete every event at or after the cutoff, and add events exactly at it."""
    at = f"timestamp '{cutoff} 00:00:00'"
    warehouse.raw(f"""
        -- new events exactly at the cutoff's midnight: the tightest leak there is
        insert into raw.events
        select 900000000 + customer_id, customer_id, 'order', {at}, 999.0
        from raw.customers where signup_at < {at} and customer_id % 3 = 0;
        insert into raw.plan_history
        select customer_id, 'premium', {at} from raw.customers
        where signup_at < {at} and customer_id % 3 = 1;
        insert into raw.events
        select 910000000 + customer_id, customer_id, 'cancellation', {at}, null
        from raw.customers where signup_at < {at} and customer_id % 3 = 2;
        -- every later event deleted or changed
        delete from raw.events where occurred_at >= {at} and event_id % 2 = 0
            and event_id < 900000000;
        update raw.events
        set amount = amount * 3 + 1, occurred_at = occurred_at + interval 1 hour
        where occurred_at >= {at} and event_id < 900000000;
    """)


def feature_rows(warehouse, cutoff: str) -> pd.DataFrame:
    return warehouse.sql(
        f"select * from feat_customer__as_of where as_of_date <= date '{cutoff}'"
        " order by customer_id, as_of_date"
    )


@pytest.mark.parametrize("sabotage", [None, *FEATURE_SABOTAGE])
def test_features_ignore_events_at_or_after_as_of(tmp_path, sabotage):
    warehouse = sabotaged(tmp_path, sabotage, FEATURE_SABOTAGE)
    warehouse.build("--select", "+feat_customer__as_of", *MODELS_ONLY)
    before = feature_rows(warehouse, CUTOFF)
    change_the_future(warehouse, CUTOFF)
    warehouse.build("--select", "+feat_customer__as_of", *MODELS_ONLY)
    after = feature_rows(warehouse, CUTOFF)
    assert len(before) > 1000
    unchanged = before.equals(after)
    if sabotage is None:
        pd.testing.assert_frame_equal(before, after)
    else:  # should fail: the broken guard lets the changed future into the features
        assert not unchanged, f"the leakage check did not catch: {sabotage}"


ORACLE_AS_OFS = ("2023-09-01", "2024-03-01", "2024-11-01")
WINDOWS = (7, 30, 90, 180)


def money(values) -> float | None:
    """Sum exact decimal amounts (as text); None when any is unknown, 0 for none."""
    if any(v is None for v in values):
        return None
    return float(sum((Decimal(v) for v in values), Decimal(0)))


def window(orders: pd.DataFrame, days_before: pd.Series, days: int, offset: int = 0):
    """Count and revenue of the orders on days offset+1 .. offset+days before as_of."""
    inside = orders[(days_before > offset) & (days_before <= days + offset)]
    return len(inside), money(list(inside.amount.where(inside.amount.notna(), None)))


def feature_oracle(warehouse, as_of: str) -> pd.DataFrame:
    """The demo mart's rows at one as_of, recomputed row by row from the staging tables.

    Plain Python over each customer's events, sharing nothing with the macros: an event counts
    for as_of when it happened strictly before as_of's midnight, and for an N-day window when
    its day is at most N days before as_of.
    """
    cutoff = pd.Timestamp(as_of)
    customers = warehouse.sql("select * from stg_demo__customers")
    events = warehouse.sql("select customer_id, event_type, occurred_at, "
                           "cast(amount as varchar) as amount from stg_demo__events")
    plans = warehouse.sql("select * from stg_demo__plan_history")
    by_customer = {key: group for key, group in events.groupby("customer_id")}
    plans_by_customer = {key: group for key, group in plans.groupby("customer_id")}
    empty = events.iloc[0:0]
    rows = []
    for customer in customers.itertuples():
        if not customer.signup_at < cutoff:
            continue
        mine = by_customer.get(customer.customer_id, empty)
        past = mine[mine.occurred_at < cutoff]
        if (past.event_type == "cancellation").any():
            continue
        orders = past[past.event_type == "order"]
        days_before = (cutoff - orders.occurred_at.dt.normalize()).dt.days
        row = {"customer_id": customer.customer_id, "as_of_date": cutoff,
               "tenure_days": (cutoff - customer.signup_at.normalize()).days}
        for days in WINDOWS:
            count, revenue = window(orders, days_before, days)
            row[f"orders_{days}d"], row[f"revenue_{days}d"] = count, revenue
            if days >= 30:
                row[f"avg_order_value_{days}d"] = (
                    None if revenue is None or count == 0 else revenue / count)
        prev_count, prev_revenue = window(orders, days_before, 30, 30)
        row["orders_prev_30d"] = prev_count
        row["orders_trend_30d"] = (row["orders_30d"] + 1) / (prev_count + 1)
        row["revenue_change_30d"] = (None if prev_revenue is None or row["revenue_30d"] is None
                                     else row["revenue_30d"] - prev_revenue)
        row["days_since_last_order"] = None if orders.empty else int(days_before.min())
        row["orders_lifetime"] = len(orders)
        row["revenue_lifetime"] = money(list(orders.amount.where(orders.amount.notna(), None)))
        history = plans_by_customer.get(customer.customer_id, plans.iloc[0:0])
        history = history[history.valid_from < cutoff].sort_values("valid_from")
        latest = history.iloc[-1] if len(history) else None
        row["plan"] = None if latest is None else latest.plan
        row["days_on_plan"] = (None if latest is None
                               else (cutoff - latest.valid_from.normalize()).days)
        row["plan_changes"] = len(history) - 1
        row["region"], row["acquisition_channel"] = customer.region, customer.acquisition_channel
        rows.append(row)
    return pd.DataFrame(rows)


def disagreements(mart: pd.DataFrame, oracle: pd.DataFrame) -> list[str]:
    """Each (column, customer) where the mart and the oracle differ, plus missing rows."""
    keys = ["customer_id", "as_of_date"]
    joined = mart.merge(oracle, on=keys, how="outer", suffixes=("", "__oracle"), indicator=True)
    found = [f"row {key} only in the {side}" for key, side in zip(
        joined[keys].itertuples(index=False), joined["_merge"], strict=True) if side != "both"]
    both = joined[joined["_merge"] == "both"]
    for column in oracle.columns.drop(keys):
        mine, theirs = both[column], both[f"{column}__oracle"]
        if pd.api.types.is_numeric_dtype(mine):
            a, b = mine.astype(float), pd.to_numeric(theirs, errors="coerce").astype(float)
            same = (a.isna() & b.isna()) | ((a - b).abs() <= 1e-9 * b.abs().clip(lower=1))
        else:
            same = (mine.isna() & theirs.isna()) | (mine == theirs)
        found += [f"{column} of customer {c}: {x!r} vs oracle {y!r}" for c, x, y in zip(
            both.customer_id[~same], mine[~same], theirs[~same], strict=True)]
    return found


def put_events_on_the_feature_edges(warehouse, as_ofs) -> None:
    """Events exactly on the bounds of the features' windows, at midnight of each as_of.

    Orders at the as_of itself (outside every window) and exactly 7, 30, 60 and 180 days before
    it (inside, on the first day of a window), a cancellation and a plan change at the as_of
    (not yet happened): the tightest cases a strict `<` or an inclusive `>=` gets wrong.
    """
    for n, as_of in enumerate(as_ofs):
        at = f"timestamp '{as_of} 00:00:00'"
        for kind, (event, days_back) in enumerate([
                ("order", 0), ("order", 7), ("order", 30), ("order", 60), ("order", 180),
                ("cancellation", 0)]):
            warehouse.raw(f"""
                insert into raw.events
                select {700_000_000 + n * 1_000_000 + kind * 100_000} + customer_id, customer_id,
                    '{event}', {at} - interval {days_back} day,
                    case when '{event}' = 'order' then 12.34 end
                from raw.customers
                where signup_at < {at} - interval 180 day and customer_id % 7 = {kind}""")
        warehouse.raw(f"""
            insert into raw.plan_history
            select customer_id, 'premium', {at} from raw.customers
            where signup_at < {at} and customer_id % 7 = 6""")


@pytest.mark.parametrize("sabotage", [None, *FEATURE_SABOTAGE])
def test_every_feature_equals_a_brute_force_oracle(tmp_path, sabotage):
    warehouse = sabotaged(tmp_path, sabotage, FEATURE_SABOTAGE)
    put_events_on_the_feature_edges(warehouse, ORACLE_AS_OFS)
    warehouse.build("--select", "+feat_customer__as_of", *MODELS_ONLY)
    found, compared = [], 0
    for as_of in ORACLE_AS_OFS:
        mart = warehouse.sql(f"select * from feat_customer__as_of where as_of_date = '{as_of}'")
        mart["as_of_date"] = pd.to_datetime(mart.as_of_date)
        oracle = feature_oracle(warehouse, as_of)
        assert len(oracle) > 300 and set(oracle.columns) == set(mart.columns)
        found += disagreements(mart, oracle)
        compared += len(oracle)
    if sabotage is None:
        assert found == [], found[:20]
        assert compared > 1000
    else:  # should fail: the broken guard lets the as_of day's own events into the features
        assert found, f"the oracle did not catch: {sabotage}"


def label_oracle(warehouse) -> pd.DataFrame:
    """Labels recomputed by brute force from the raw log: a cancellation in [as_of, as_of+h)."""
    rows = warehouse.sql("select customer_id, as_of_date, churned_90d, is_label_mature"
                         " from ml_churn__training_set")
    events = warehouse.sql("select distinct customer_id, event_type, occurred_at from raw.events")
    observed_until = events.occurred_at.max()
    cancellations = events[events.event_type == "cancellation"]
    joined = rows.merge(cancellations[["customer_id", "occurred_at"]], on="customer_id", how="left")
    start = joined.as_of_date
    end = start + pd.Timedelta(days=HORIZON_DAYS)
    joined["in_window"] = (joined.occurred_at >= start) & (joined.occurred_at < end)
    oracle = joined.groupby(["customer_id", "as_of_date"]).in_window.any().rename("oracle_label")
    rows = rows.merge(oracle.reset_index(), on=["customer_id", "as_of_date"])
    rows["oracle_mature"] = rows.as_of_date + pd.Timedelta(days=HORIZON_DAYS) <= observed_until
    return rows


def put_cancellations_on_the_window_edges(warehouse, as_of: str) -> None:
    """Cancel some customers exactly at as_of (inside) and others exactly at as_of + h (outside)."""
    start = f"timestamp '{as_of} 00:00:00'"
    end = f"timestamp '{as_of} 00:00:00' + interval {HORIZON_DAYS} day"
    warehouse.raw(f"""
        create temp table edge as
        select customer_id, row_number() over (order by customer_id) as n
        from raw.customers c
        where signup_at < {start} and not exists (
            select 1 from raw.events e where e.customer_id = c.customer_id
            and e.event_type = 'cancellation' and e.occurred_at < {end} + interval 1 day);
        delete from raw.events where event_type = 'cancellation'
            and customer_id in (select customer_id from edge where n <= 40);
        insert into raw.events
        select 800000000 + customer_id, customer_id, 'cancellation',
            case when n <= 20 then {start} else {end} end, null
        from edge where n <= 40;
    """)


@pytest.mark.parametrize("sabotage", [None, *LABEL_SABOTAGE])
def test_labels_come_from_the_label_window_only(tmp_path, sabotage):
    warehouse = sabotaged(tmp_path, sabotage, LABEL_SABOTAGE)
    put_cancellations_on_the_window_edges(warehouse, CUTOFF)
    warehouse.build("--select", "+ml_churn__training_set", *MODELS_ONLY)
    rows = label_oracle(warehouse)
    mature = rows[rows.oracle_mature]
    assert (rows.is_label_mature == rows.oracle_mature).all()
    assert rows.loc[~rows.oracle_mature, "churned_90d"].isna().all()
    agree = (mature.churned_90d == mature.oracle_label.astype(int)).all()
    if sabotage is None:
        assert agree
        assert mature.churned_90d.sum() > 0
    else:  # should fail: events on the window's edges are counted on the wrong side
        assert not agree, f"the label check did not catch: {sabotage}"


def split_violations(rows: pd.DataFrame) -> list[str]:
    """Every way the time split breaks invariant 3 (empty when it holds)."""
    problems = []
    span = rows.groupby("split").as_of_date.agg(["min", "max"])
    for split in ("train", "valid", "test"):
        if split not in span.index:
            problems.append(f"split {split} is empty")
    horizon = pd.Timedelta(days=HORIZON_DAYS)
    for earlier, later in (("train", "valid"), ("valid", "test")):
        if {earlier, later} <= set(span.index):
            gap = span.loc[later, "min"] - span.loc[earlier, "max"]
            if gap < horizon:
                problems.append(f"{earlier} -> {later} gap {gap.days} days < {HORIZON_DAYS}")
    if not rows.loc[rows.split == "score", "is_label_mature"].eq(False).all():
        problems.append("a score row has a mature label")
    labelled = rows[rows.split.isin(["train", "valid", "test"])]
    if not labelled.is_label_mature.all():
        problems.append("a train/valid/test row has an immature label")
    mature_dates = sorted(rows.loc[rows.is_label_mature, "as_of_date"].unique())
    if sorted(rows.loc[rows.split == "test", "as_of_date"].unique()) != mature_dates[-3:]:
        problems.append("test is not the last three mature as_of dates")
    return problems


@pytest.mark.parametrize("sabotage", [None, *SPLIT_SABOTAGE])
def test_time_split_orders_splits_with_an_embargo(tmp_path, sabotage):
    warehouse = sabotaged(tmp_path, sabotage, SPLIT_SABOTAGE)
    warehouse.build("--select", "+ml_churn__training_set", *MODELS_ONLY)
    rows = warehouse.sql("select as_of_date, split, is_label_mature from ml_churn__training_set")
    problems = split_violations(rows)
    if sabotage is None:
        assert problems == []
    else:  # should fail: without the embargo, label windows cross the split boundaries
        assert problems, f"the split check did not catch: {sabotage}"
