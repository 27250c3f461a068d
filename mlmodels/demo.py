"""Deterministic, seeded generator of a synthetic subscription business (the "demo world").

The demo world is a subscription service whose customers sign up, order, change plan and
eventually cancel. :func:`generate` writes it into schema ``raw`` of a DuckDB connection:

``raw.customers(customer_id, signup_at, region, acquisition_channel, cancelled_at)``
    One row per customer. ``cancelled_at`` is a **trap column**: a CRM snapshot taken at
    extraction time (the end of the data). It holds the time of the customer's cancellation
    event, or NULL if the customer was still active at the end, so it is only known after the
    outcome. Features must never use it (it leaks the label).
``raw.plan_history(customer_id, plan, valid_from)``
    One row at signup (``valid_from = signup_at``) plus one row per later plan change among
    ``basic`` / ``standard`` / ``premium``; all changes happen before the customer's
    cancellation.
``raw.events(event_id, customer_id, event_type, occurred_at, amount)``
    The event log: ``order`` rows (``amount`` > 0 is the order value) and at most one
    ``cancellation`` row per customer (``amount`` NULL), after which that customer has no
    events. About 0.3% of the rows are loaded twice (exact duplicates, same ``event_id``),
    which staging must remove.

Every timestamp has seconds resolution and lies strictly inside a day (00:00:01..23:59:59),
so no event ever coincides with a month-start (midnight) as-of boundary. Events run from
``start`` (default 2023-01-01) to the day before ``start + months`` (default 2025-06-30).

Behaviour
---------
* Signups: about 30% of the customers form an initial cohort signing up in the first month;
  the rest sign up uniformly until the last day, so every month start has newcomers (a
  population without them ages: its mean order frequency drifts up, a false alarm).
* Each customer has a latent engagement (orders per 30 days, lognormal with median 6) that
  drifts from month to month; orders follow a fairly regular personal schedule. Premium
  customers order more and spend more per order; frequent buyers fill smaller baskets.
* Churn is a two-stage process. Every 30 days after signup a customer may start to
  disengage, with a probability that rises with low (current) engagement, on the basic plan,
  with short tenure, for some acquisition channels and with an unobserved per-customer
  frailty. A disengaging customer's order rate decays (and its order values drop) for 45-95
  days, it often downgrades, and then it cancels (unless the data ends first). Recency,
  frequency and the 30-day trend are therefore predictive, but far from perfectly: a gradient
  boosting model on the usual RFM features reaches a ROC AUC of about 0.8 on "cancels within
  90 days". About 16% of the customers active at a month start cancel within 90 days.
* Regime change at :data:`REGIME_CHANGE_DATE` (2024-09-01): a **price increase**. Order values
  rise by 60% on basic and standard and by 45% on premium, the disengagement hazard of basic
  (and slightly of standard) customers rises, and the acquisition channel mix of new signups
  shifts strongly towards ``paid_social``. Order value features (average order value, revenue
  over 30/90 days) therefore drift clearly after the change (population stability index
  around 0.3 for 30-day revenue, around 1 for average order value) while being stable month
  to month before it (PSI below 0.02 from 2023-04 on; the first two month starts see only
  the newly signed-up initial cohort and differ).

Determinism
-----------
No generator state is used: every random number is a counter-based hash of ``(seed, stream,
customer_id, index)`` turned into a uniform. The same arguments therefore give identical tables,
whatever the chunk size or the number of DuckDB threads, and different seeds give different
data.

Longer than 500 lines because it is one deterministic world: customers, plans, orders and
events are drawn in sequence, each from the ones before, with the traps staging must remove;
split up, one story's parameters would be scattered over files.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy import special

REGIME_CHANGE_DATE: date = date(2024, 9, 1)
"""Date of the price increase (the regime change) in the demo world."""

DEFAULT_START: date = date(2023, 1, 1)
"""First day of the demo world."""

DEFAULT_MONTHS: int = 30
"""Number of calendar months covered by default (2023-01-01 to 2025-06-30)."""

REGIONS: tuple[str, ...] = ("north", "south", "east", "west", "central")
CHANNELS: tuple[str, ...] = ("organic", "paid_search", "referral", "partner", "paid_social")
PLANS: tuple[str, ...] = ("basic", "standard", "premium")

DUPLICATE_RATE: float = 0.003
"""Share of event rows that are loaded twice."""

_DAY = 86_400
_PERIOD = 30 * _DAY  # one simulation step ("billing period"), anchored at signup
_NEVER = np.iinfo(np.int64).max // 4

# categorical mixes
_REGION_W = (0.22, 0.20, 0.19, 0.24, 0.15)
_CHANNEL_W_BEFORE = (0.38, 0.26, 0.14, 0.14, 0.08)
_CHANNEL_W_AFTER = (0.20, 0.18, 0.08, 0.09, 0.45)
_PLAN_W = (0.50, 0.33, 0.17)
_INITIAL_COHORT = 0.30

# order rate (orders per 30 days): exp(log base + drift + plan effect)
_LOG_RATE = float(np.log(6.0))
_LOG_RATE_SD = 0.32
_PLAN_LOG_RATE = np.array([-0.15, 0.0, 0.25])
_CHANNEL_LOG_RATE = np.array([0.0, -0.05, 0.10, 0.05, -0.15])
_DRIFT_AR = 0.7
_DRIFT_SD = 0.18

# order value
_PLAN_PRICE = np.array([24.0, 36.0, 56.0])
_SPEND_SD = 0.2
_SPEND_VS_RATE = 0.5
_ORDER_SD = 0.28
_REGIME_PRICE = np.array([1.60, 1.60, 1.45])

# disengagement ("churn onset") hazard per 30 days, on the logit scale
_H0 = -3.35
_H_ENG = 0.9
_H_TENURE = 1.0
_H_TENURE_SCALE = 3.0
_PLAN_HAZ = np.array([0.45, 0.0, -0.35])
_CHANNEL_HAZ = np.array([0.0, 0.10, -0.30, -0.15, 0.35])
_REGION_HAZ = np.array([0.0, 0.05, 0.0, -0.05, 0.10])
_REGIME_HAZ = np.array([0.60, 0.15, 0.0])
_FRAILTY_SD = 0.6

# decline before cancellation
_LAG_MIN_DAYS = 45
_LAG_SPAN_DAYS = 50
_DECAY_DAYS = 25.0
_DECAY_FLOOR = 0.12
_DECLINE_SPEND_DROP = 0.25
_DECLINE_DOWNGRADE = 0.45

# regular plan changes per 30 days
_P_UPGRADE = 0.012
_P_DOWNGRADE = 0.009

# random streams
(
    _S_COHORT,
    _S_SIGNUP,
    _S_REGION,
    _S_CHANNEL,
    _S_PLAN,
    _S_RATE,
    _S_SPEND,
    _S_FRAILTY,
    _S_DRIFT,
    _S_ONSET,
    _S_ONSET_T,
    _S_CHANGE,
    _S_CHANGE_T,
    _S_LAG,
    _S_DECLINE,
    _S_DECLINE_T,
    _S_NORDERS,
    _S_ORDER_T,
    _S_ACCEPT,
    _S_AMOUNT,
    _S_DUP,
) = range(1, 22)

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_KEY_SHIFT = 24  # per-customer sub-index bits in hash keys


def _mix_scalar(x: int) -> int:
    """Splitmix64 finalizer on a Python int (mod 2**64)."""
    x &= _M64
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _mix(x: np.ndarray) -> np.ndarray:
    """Splitmix64 finalizer, in place on a uint64 array."""
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _uniform(seed: int, stream: int, key: np.ndarray) -> np.ndarray:
    """Draw uniforms in (0, 1) as a pure function of ``(seed, stream, key)`` (counter-based)."""
    base = _mix_scalar(_mix_scalar(seed) + stream * _GOLDEN)
    x = key.astype(np.uint64)
    x *= np.uint64(_GOLDEN)
    x += np.uint64(base)
    x = _mix(x)
    x >>= np.uint64(11)
    u = x.astype(np.float64)
    u += 0.5
    u *= 2.0**-53
    return u


def _normal(seed: int, stream: int, key: np.ndarray) -> np.ndarray:
    """Draw standard normals as a pure function of ``(seed, stream, key)``."""
    return special.ndtri(_uniform(seed, stream, key))


def _categorical(u: np.ndarray, weights: tuple[float, ...]) -> np.ndarray:
    """Map uniforms to category codes 0..len(weights)-1 with the given weights."""
    cum = np.cumsum(weights) / np.sum(weights)
    return np.minimum(np.searchsorted(cum, u, side="right"), len(weights) - 1).astype(np.int8)


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _seconds(d: date, origin: date) -> int:
    return (d - origin).days * _DAY


@dataclass(frozen=True)
class _Calendar:
    """Calendar of the demo world, in seconds since ``start`` (midnight)."""

    epoch: int  # seconds from 1970-01-01 to start
    month1: int  # end of the initial cohort's signup month
    last_signup: int
    regime: int
    end: int  # exclusive end of the data

    @classmethod
    def build(cls, start: date, months: int) -> _Calendar:
        end = _add_months(start, months)
        return cls(
            epoch=_seconds(start, date(1970, 1, 1)),
            month1=_seconds(_add_months(start, 1), start),
            last_signup=_seconds(end, start) - _DAY,  # newcomers up to the last day
            regime=_seconds(REGIME_CHANGE_DATE, start),
            end=_seconds(end, start),
        )


@dataclass
class _Chunk:
    customers: pd.DataFrame
    plan_history: pd.DataFrame
    events: pd.DataFrame
    n_distinct_events: int


def _simulate(seed: int, lo: int, hi: int, cal: _Calendar, event_offset: int) -> _Chunk:
    """Simulate customers ``lo+1 .. hi`` (ids), numbering their events after ``event_offset``."""
    n = hi - lo
    cid = np.arange(lo + 1, hi + 1, dtype=np.int64)

    def uni(stream: int, key: np.ndarray = cid) -> np.ndarray:
        return _uniform(seed, stream, key)

    def nrm(stream: int, key: np.ndarray = cid) -> np.ndarray:
        return _normal(seed, stream, key)

    # --- static attributes -------------------------------------------------------------
    first_month = uni(_S_COHORT) < _INITIAL_COHORT
    v = uni(_S_SIGNUP)
    signup = np.where(
        first_month, v * cal.month1, cal.month1 + v * (cal.last_signup - cal.month1)
    ).astype(np.int64)
    signup += signup % _DAY == 0
    region = _categorical(uni(_S_REGION), _REGION_W)
    u_ch = uni(_S_CHANNEL)
    channel = np.where(
        signup >= cal.regime,
        _categorical(u_ch, _CHANNEL_W_AFTER),
        _categorical(u_ch, _CHANNEL_W_BEFORE),
    ).astype(np.int8)
    plan = _categorical(uni(_S_PLAN), _PLAN_W)
    signup_plan = plan.copy()
    z_rate = nrm(_S_RATE)
    log_base = _LOG_RATE + _LOG_RATE_SD * z_rate + _CHANNEL_LOG_RATE[channel]
    # frequent buyers fill smaller baskets
    log_spend = _SPEND_SD * nrm(_S_SPEND) - _SPEND_VS_RATE * _LOG_RATE_SD * z_rate
    frailty = _FRAILTY_SD * nrm(_S_FRAILTY)
    static_haz = _H0 + _CHANNEL_HAZ[channel] + _REGION_HAZ[region] + frailty

    # --- monthly simulation: drift, disengagement onset, plan changes --------------------
    steps = -(-cal.end // _PERIOD)
    drift_m = np.empty((n, steps), dtype=np.float64)
    plan_m = np.empty((n, steps), dtype=np.int8)  # plan at the start of each step
    change_t = np.full((n, steps), _NEVER, dtype=np.int64)  # plan change time within step
    change_p = np.zeros((n, steps), dtype=np.int8)  # plan after that change
    onset = np.full(n, _NEVER, dtype=np.int64)
    stationary_sd = _DRIFT_SD / np.sqrt(1 - _DRIFT_AR**2)
    drift = stationary_sd * nrm(_S_DRIFT, cid << _KEY_SHIFT)
    for k in range(steps):
        key = (cid << _KEY_SHIFT) + k
        if k:
            drift = _DRIFT_AR * drift + _DRIFT_SD * nrm(_S_DRIFT, key)
        drift_m[:, k] = drift
        plan_m[:, k] = plan
        s = signup + k * _PERIOD
        live = (onset == _NEVER) & (s < cal.end)
        if not live.any():
            continue
        eng = log_base + drift + _PLAN_LOG_RATE[plan] - _LOG_RATE
        logit = (
            static_haz
            - _H_ENG * eng
            + _PLAN_HAZ[plan]
            + _H_TENURE * np.exp(-k / _H_TENURE_SCALE)
            + np.where(s >= cal.regime, _REGIME_HAZ[plan], 0.0)
        )
        p_onset = 1.0 / (1.0 + np.exp(-logit))
        starts = live & (uni(_S_ONSET, key) < p_onset)
        onset = np.where(starts, s + (uni(_S_ONSET_T, key) * _PERIOD).astype(np.int64), onset)
        stay = live & ~starts
        p_up = np.where(plan < 2, np.minimum(_P_UPGRADE * np.exp(0.8 * eng), 0.1), 0.0)
        p_down = np.where(plan > 0, np.minimum(_P_DOWNGRADE * np.exp(-0.5 * eng), 0.1), 0.0)
        u_c = uni(_S_CHANGE, key)
        up = stay & (u_c < p_up)
        down = stay & ~up & (u_c < p_up + p_down)
        t_c = s + 1 + (uni(_S_CHANGE_T, key) * (_PERIOD - 1)).astype(np.int64)
        t_c += t_c % _DAY == 0
        changed = (up | down) & (t_c < cal.end)
        new_plan = (plan + up.astype(np.int8) - down.astype(np.int8)).astype(np.int8)
        change_t[changed, k] = t_c[changed]
        change_p[changed, k] = new_plan[changed]
        plan = np.where(changed, new_plan, plan).astype(np.int8)

    # --- decline and cancellation -------------------------------------------------------
    has_onset = onset != _NEVER
    lag = ((_LAG_MIN_DAYS + _LAG_SPAN_DAYS * uni(_S_LAG)) * _DAY).astype(np.int64)
    cancel = np.where(has_onset, onset + lag, _NEVER)
    cancel += cancel % _DAY == 0
    cancelled = cancel < cal.end
    # customers in decline often downgrade before they leave
    t_d = onset + 1 + (uni(_S_DECLINE_T) * 0.75 * lag).astype(np.int64)
    t_d += t_d % _DAY == 0
    downgrade = has_onset & (plan > 0) & (uni(_S_DECLINE) < _DECLINE_DOWNGRADE) & (t_d < cal.end)
    idx = np.flatnonzero(downgrade)
    if idx.size:
        k_d = (t_d[idx] - signup[idx]) // _PERIOD
        change_t[idx, k_d] = t_d[idx]
        change_p[idx, k_d] = plan[idx] - 1
        later = np.arange(steps)[None, :] > k_d[:, None]
        plan_m[idx] = np.where(later, plan_m[idx] - 1, plan_m[idx])

    # --- plan history -----------------------------------------------------------------
    ci_c, k_c = np.nonzero(change_t != _NEVER)  # row-major: per customer, chronological
    ph_ci = np.concatenate([np.arange(n), ci_c])
    ph_order = np.argsort(
        np.concatenate([np.arange(n) * (steps + 1), ci_c * (steps + 1) + k_c + 1]),
        kind="stable",
    )
    ph_ci = ph_ci[ph_order]
    ph_plan = np.concatenate([signup_plan, change_p[ci_c, k_c]])[ph_order]
    ph_t = np.concatenate([signup, change_t[ci_c, k_c]])[ph_order]
    plan_history = pd.DataFrame(
        {
            "customer_id": cid[ph_ci],
            "plan": ph_plan,
            "valid_from": (ph_t + cal.epoch).astype("datetime64[s]"),
        }
    )

    # --- orders: thinning of a jittered regular schedule at the customer's maximal rate --
    # (one candidate per stratum of the lifetime, so order counts are less noisy than Poisson)
    active_end = np.where(cancelled, cancel, cal.end)
    life = active_end - signup
    in_life = np.arange(steps)[None, :] * _PERIOD < life[:, None]
    drift_max = np.where(in_life, drift_m, -np.inf).max(axis=1)
    plan_max = np.maximum(
        np.where(in_life, plan_m, 0).max(axis=1),
        np.where(change_t != _NEVER, change_p, 0).max(axis=1),
    )
    log_max = log_base + drift_max + _PLAN_LOG_RATE[plan_max]
    n_cand = (np.exp(log_max) * life / _PERIOD + uni(_S_NORDERS)).astype(np.int64)
    ci = np.repeat(np.arange(n), n_cand)
    j = np.arange(ci.size) - np.repeat(np.cumsum(n_cand) - n_cand, n_cand)
    ckey = (cid[ci] << _KEY_SHIFT) + j
    t = signup[ci] + ((j + uni(_S_ORDER_T, ckey)) / n_cand[ci] * life[ci]).astype(np.int64)
    flat = ci * steps + (t - signup[ci]) // _PERIOD
    plan_t = np.where(t >= change_t.ravel()[flat], change_p.ravel()[flat], plan_m.ravel()[flat])
    log_acc = drift_m.ravel()[flat] - drift_max[ci] + _PLAN_LOG_RATE[plan_t]
    log_acc -= _PLAN_LOG_RATE[plan_max][ci]
    since = (t - onset[ci]) / (_DECAY_DAYS * _DAY)
    decay = np.where(since > 0, _DECAY_FLOOR + (1 - _DECAY_FLOOR) * np.exp(-np.abs(since)), 1.0)
    keep = uni(_S_ACCEPT, ckey) < np.exp(log_acc) * decay
    ci, t = ci[keep], t[keep]
    del ckey, flat, plan_t, log_acc, since, decay, keep, j
    t -= t % _DAY == 0  # t > signup whenever it is midnight, so this stays in the lifetime

    # --- merge with cancellations, sort per customer and time ---------------------------
    cc = np.flatnonzero(cancelled)
    sort_key = np.concatenate([(ci << 33) | (t << 1), (cc << 33) | (cancel[cc] << 1) | 1])
    del ci, t
    sort_key.sort()
    is_cancel = (sort_key & 1).astype(bool)
    t = (sort_key >> 1) & ((1 << 32) - 1)
    ci = sort_key >> 33
    del sort_key
    first = np.cumsum(np.bincount(ci, minlength=n)) - np.bincount(ci, minlength=n)
    rank = np.arange(ci.size) - first[ci]

    # order values
    flat = ci * steps + np.minimum((t - signup[ci]) // _PERIOD, steps - 1)
    plan_t = np.where(t >= change_t.ravel()[flat], change_p.ravel()[flat], plan_m.ravel()[flat])
    noise = _ORDER_SD * _normal(seed, _S_AMOUNT, (cid[ci] << _KEY_SHIFT) + rank)
    amount = _PLAN_PRICE[plan_t] * np.exp(log_spend[ci] + noise - 0.5 * _ORDER_SD**2)
    amount *= np.where(t >= cal.regime, _REGIME_PRICE[plan_t], 1.0)
    progress = np.clip((t - onset[ci]) / lag[ci], 0.0, 1.0)
    amount *= 1.0 - _DECLINE_SPEND_DROP * progress
    amount = np.maximum(np.round(amount, 2), 0.5)
    amount[is_cancel] = np.nan
    del flat, plan_t, noise, progress

    # ids and duplicated loads
    event_id = event_offset + 1 + np.arange(ci.size, dtype=np.int64)
    reps = 1 + (_uniform(seed, _S_DUP, event_id) < DUPLICATE_RATE)
    events = pd.DataFrame(
        {
            "event_id": np.repeat(event_id, reps),
            "customer_id": np.repeat(cid[ci], reps),
            "is_cancel": np.repeat(is_cancel, reps),
            "occurred_at": np.repeat(t + cal.epoch, reps).astype("datetime64[s]"),
            "amount": np.repeat(amount, reps),
        }
    )

    customers = pd.DataFrame(
        {
            "customer_id": cid,
            "signup_at": (signup + cal.epoch).astype("datetime64[s]"),
            "region": region,
            "channel": channel,
            "cancelled_at": np.where(cancelled, cancel + cal.epoch, 0).astype("datetime64[s]"),
            "is_cancelled": cancelled,
        }
    )
    return _Chunk(customers, plan_history, events, int(event_id.size))


def _sql_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


_DDL = """
DROP SCHEMA IF EXISTS raw CASCADE;
CREATE SCHEMA raw;
CREATE TABLE raw.customers (
    customer_id BIGINT,
    signup_at TIMESTAMP,
    region VARCHAR,
    acquisition_channel VARCHAR,
    cancelled_at TIMESTAMP
);
CREATE TABLE raw.plan_history (
    customer_id BIGINT,
    plan VARCHAR,
    valid_from TIMESTAMP
);
CREATE TABLE raw.events (
    event_id BIGINT,
    customer_id BIGINT,
    event_type VARCHAR,
    occurred_at TIMESTAMP,
    amount DOUBLE
);
"""


def generate(
    con: duckdb.DuckDBPyConnection,
    customers: int = 5000,
    seed: int = 42,
    start: date = DEFAULT_START,
    months: int = DEFAULT_MONTHS,
    chunk_customers: int = 200_000,
) -> dict[str, int]:
    """(Re)create schema ``raw`` with tables customers, plan_history, events.

    Any existing schema ``raw`` (and everything in it) is dropped first. Customers are
    simulated in chunks of ``chunk_customers`` and inserted chunk by chunk, so memory stays
    bounded; the result does not depend on the chunk size.

    Parameters
    ----------
    con
        Open DuckDB connection to write into.
    customers
        Number of customers (ids ``1..customers``).
    seed
        Seed of the demo world; the same arguments always give identical tables.
    start
        First day of the data (should be a month start).
    months
        Number of calendar months covered; events end before ``start + months``.
    chunk_customers
        Customers simulated per chunk (a memory bound, about 1.5 KB of peak memory per
        customer at the default parameters).

    Returns
    -------
    dict[str, int]
        Row counts per table: ``customers``, ``plan_history`` and ``events`` (including the
        duplicated rows).
    """
    if customers < 1:
        raise ValueError("customers must be positive")
    if months < 4:
        raise ValueError("months must be at least 4")
    if months > 1200:
        raise ValueError("months must be at most 1200")
    if chunk_customers < 1:
        raise ValueError("chunk_customers must be positive")
    if isinstance(start, datetime):
        start = start.date()
    cal = _Calendar.build(start, months)
    seed = int(seed) & _M64
    con.execute(_DDL)
    regions, channels, plans = _sql_list(REGIONS), _sql_list(CHANNELS), _sql_list(PLANS)
    counts = {"customers": 0, "plan_history": 0, "events": 0}
    event_offset = 0
    for lo in range(0, customers, chunk_customers):
        hi = min(lo + chunk_customers, customers)
        chunk = _simulate(seed, lo, hi, cal, event_offset)
        con.register("__demo_customers", chunk.customers)
        con.register("__demo_plans", chunk.plan_history)
        con.register("__demo_events", chunk.events)
        try:
            con.execute(
                f"""
                INSERT INTO raw.customers
                SELECT customer_id, signup_at, {regions}[region + 1], {channels}[channel + 1],
                       CASE WHEN is_cancelled THEN cancelled_at END
                FROM __demo_customers
                """
            )
            con.execute(
                f"""
                INSERT INTO raw.plan_history
                SELECT customer_id, {plans}[plan + 1], valid_from FROM __demo_plans
                """
            )
            con.execute(
                """
                INSERT INTO raw.events
                SELECT event_id, customer_id,
                       CASE WHEN is_cancel THEN 'cancellation' ELSE 'order' END,
                       occurred_at,
                       CASE WHEN is_cancel THEN NULL ELSE amount END
                FROM __demo_events
                """
            )
        finally:
            for name in ("__demo_customers", "__demo_plans", "__demo_events"):
                con.unregister(name)
        counts["customers"] += len(chunk.customers)
        counts["plan_history"] += len(chunk.plan_history)
        counts["events"] += len(chunk.events)
        event_offset += chunk.n_distinct_events
        del chunk
    return counts


RAW_TABLES = ("customers", "plan_history", "events")


def copy_to_spark(db_path: str | Path, warehouse: str | Path) -> None:
    """Copy the raw tables of a generated DuckDB file into a local Spark warehouse.

    The tables become Parquet tables ``raw.<table>`` of a local SparkSession whose metastore is
    an embedded Derby inside ``warehouse``, as the ``spark`` target of ``profiles.yml`` reads
    them (SPARK_WAREHOUSE). Existing tables are replaced.
    """
    from pyspark.sql import SparkSession

    folder = Path(warehouse).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    # No master here: the default local[*], or the Spark Connect server SPARK_REMOTE names
    # (pyspark refuses a master beside it).
    spark = (SparkSession.builder.enableHiveSupport().appName("mlmodels-generate-demo")
             .config("spark.sql.warehouse.dir", str(folder))
             .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={folder}")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.ui.enabled", "false").getOrCreate())
    try:
        spark.sql("create database if not exists raw")
        with duckdb.connect(str(db_path), read_only=True) as con:
            for table in RAW_TABLES:
                rows = con.sql(f"select * from raw.{table}").to_arrow_table()
                (spark.createDataFrame(rows).write.mode("overwrite").format("parquet")
                 .saveAsTable(f"raw.{table}"))
    finally:
        spark.stop()

