"""Bad data, hostile specs and killed runs never reach a prediction or a champion.

One demo world is built once; each test attacks it, asserts that the prediction history, the
registry and the champion are unchanged (or changed exactly as documented) and that the error
names what went wrong, then repairs what it broke.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from mlmodels import scaffold
from mlmodels.spec import specs
from tests.integration.helpers import REPO, failures, new_warehouse

pytestmark = pytest.mark.slow

SCORES = "select * from ml_churn__scores order by all"
REGISTRY = "select model_name, model_version, status from ml_model_registry order by all"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    warehouse = new_warehouse(tmp_path_factory.mktemp("reliability"))
    warehouse.build()
    return warehouse


def state(world) -> tuple:
    """What must survive an attack: the scores of both models, and the registry."""
    return (world.sql(SCORES), world.sql("select * from ml_spend__scores order by all"),
            world.sql(REGISTRY))


def assert_unchanged(world, before: tuple, rescored_live: bool = False) -> None:
    """Nothing added, lost or changed; with rescored_live, a later build re-scored the live
    as_of (a new scored_at, the same scores), which every build does by design."""
    for old, new in zip(before, state(world), strict=True):
        if rescored_live and "scored_at" in old.columns:
            old, new = old.drop(columns="scored_at"), new.drop(columns="scored_at")
        assert new.equals(old)


def test_future_timestamps_fail_at_the_first_gate_and_write_nothing(world):
    before = state(world)
    # 0.5% of events stamped in 2030 (a clock error in a source).
    world.raw("create table raw.future as select * from raw.events using sample 0.5 percent "
              "(bernoulli, 3)")
    world.raw("update raw.future set occurred_at = occurred_at + interval 5 year, "
              "event_id = event_id + 900000000")
    world.raw("insert into raw.events select * from raw.future")
    try:
        result = world.build(expect_success=False)
        message = failures(result)
        # The source gate stops it before staging (the staging model's own check is behind it).
        assert "assert_demo__events__occurred_at__not_after_observed_until" in message
        assert "fail" in message
        assert_unchanged(world, before)
        # Even past the failing test (as a run that skips tests would be), the grid stops at the
        # observed end: no as_of lies beyond it.
        world.build("--select", "feat_customer__as_of", "ml_churn__training_set")
        latest = world.sql("select max(as_of_date) as d from feat_customer__as_of").d[0]
        assert latest <= world.sql("select now()::date as d").d[0]
    finally:
        world.raw("delete from raw.events where event_id in (select event_id from raw.future)")
        world.raw("drop table raw.future")
    world.build()
    assert_unchanged(world, before, rescored_live=True)


# case: (SQL on the raw tables, the gate that must fail: relation, column and rule in its name)
CORRUPT_LOADS = {
    "retyped column": ("alter table raw.events alter amount type varchar",
                       "assert_demo__events__schema"),
    "null flood": (("update raw.events set amount = null where event_type = 'order' "
                   "and event_id % 5 < 2"), "assert_demo__events__amount__missing_share"),
    "blank flood": ("update raw.customers set region = ' ' where customer_id % 4 = 0",
                    "assert_demo__customers__region__missing_share"),
    "negative values": ("update raw.events set amount = -amount where event_id % 50 = 0",
                        "assert_demo__events__amount__minimum"),
    "unseen category": ("update raw.plan_history set plan = 'enterprise' where customer_id % 9 = 0",
                        "assert_demo__plan_history__plan__accepted_values"),
    "reloaded under new ids": (
        ("insert into raw.events select event_id + 900000000, customer_id, event_type, "
        "occurred_at, amount from raw.events where event_id % 10 = 0"),
        "assert_demo__events__customer_id_occurred_at__unique"),
    "empty month": (("delete from raw.events where occurred_at >= timestamp '2024-11-01' "
                    "and occurred_at < timestamp '2024-12-01'"),
                    "assert_demo__events__occurred_at__no_empty_day"),
    "duplicate customer": (("insert into raw.customers select customer_id, signup_at + interval "
                           "1 day, region, acquisition_channel, cancelled_at from raw.customers "
                           "where customer_id % 100 = 0 limit 5"),
                           "assert_demo__customers__customer_id__unique"),
}


@pytest.mark.parametrize("case", list(CORRUPT_LOADS))
def test_a_corrupt_load_stops_at_its_source_gate_and_changes_nothing(world, case):
    change, gate = CORRUPT_LOADS[case]
    before = state(world)
    with world.raw_restored():
        world.raw(change)
        result = world.build(expect_success=False)
        statuses = {r.node.name: str(r.status) for r in result.result.results}
        failing = sorted(name for name, status in statuses.items() if status in {"error", "fail"})
        # The named gate fails; others on the same column may too (a retyped amount also breaks
        # its minimum check), but only source gates: nothing after them ran.
        assert gate in failing and all(name.startswith("assert_demo__") for name in failing), \
            failures(result)
        assert statuses["feat_customer__as_of"] == "skipped"
        assert statuses["ml_churn__scores"] == statuses["ml_spend__scores"] == "skipped"
        assert_unchanged(world, before)


def test_an_exact_double_load_passes_and_changes_no_prediction(world):
    before = state(world)
    with world.raw_restored(("events",)):
        world.raw("insert into raw.events select * from raw.events where event_id % 7 = 0")
        world.build()  # staging removes exact copies: no gate fails, no feature changes
        assert_unchanged(world, before, rescored_live=True)


def test_a_label_flood_stops_at_the_mart_gates_and_changes_nothing(world):
    before = state(world)
    with world.raw_restored(("events",)):
        # A third of the customers "cancel" on one day: the raw load is well-formed, so the
        # source gates pass it; churn's label-rate gate does not.
        world.raw("insert into raw.events select 700000000 + customer_id, customer_id, "
                  "'cancellation', timestamp '2024-02-10 10:00:00', null from raw.customers "
                  "where customer_id % 3 = 0 and signup_at < timestamp '2024-01-01'")
        result = world.build(expect_success=False)
        message = failures(result)
        assert "mlmodels_dq_gate_passes_dq_ml_churn__training_set" in message, message
        churn_scores, spend_scores, registry = before
        assert world.sql(SCORES).equals(churn_scores)  # churn: nothing written
        after = world.sql(REGISTRY)
        assert after[after.model_name == "churn"].equals(registry[registry.model_name == "churn"])
        # spend's own gates pass (its label is not the flooded one), so it goes on over the
        # smaller population; its champion stays, and no as_of but the live one is rewritten.
        assert champion(after, "spend") == champion(registry, "spend")
        live = spend_scores.as_of_date.max()
        spend_after = world.sql("select * from ml_spend__scores order by all")
        kept = spend_after[spend_after.as_of_date < live].reset_index(drop=True)
        assert kept.equals(spend_scores[spend_scores.as_of_date < live].reset_index(drop=True))


def champion(registry: pd.DataFrame, model: str) -> list[str]:
    rows = registry[(registry.model_name == model) & (registry.status == "champion")]
    return rows.model_version.tolist()


def test_rescoring_a_range_replaces_it_and_removes_junk_for_good(world):
    before = world.sql(SCORES)
    junk = before[before.as_of_date == before.as_of_date.max()].head(50).copy()
    junk["as_of_date"] = pd.Timestamp("2030-04-01")
    with world_connection(world) as con:
        con.register("junk_rows", junk)
        con.execute("insert into ml_churn__scores select * from junk_rows")
    world.build("--select", "+ml_churn__predictions")
    before = world.sql(SCORES)
    before = before[before.as_of_date != pd.Timestamp("2030-04-01")]
    assert (world.sql(SCORES).as_of_date.astype(str) == "2030-04-01").sum() == 50  # kept: it
    # is never rewritten by a normal build, which is why a documented rescore exists.
    latest = str(before.as_of_date.max().date())
    world.build("--select", "+ml_churn__predictions", "--vars",
                json.dumps({"rescore_from": latest, "rescore_to": "2030-12-31"}))
    after = world.sql(SCORES)
    assert not (after.as_of_date.astype(str) == "2030-04-01").any()
    history = world.sql("select * from ml_rescore_history")
    assert history.model_name.tolist() == ["churn"] and history.replaced_rows[0] == 50
    untouched = before[before.as_of_date != before.as_of_date.max()].reset_index(drop=True)
    kept = after[after.as_of_date != before.as_of_date.max()].reset_index(drop=True)
    assert kept.equals(untouched)  # outside the range: byte for byte, scored_at included
    rescored = after[after.as_of_date == before.as_of_date.max()]
    old = before[before.as_of_date == before.as_of_date.max()]
    assert len(rescored) == len(old) and (rescored.score.values == old.score.values).all()
    assert world.sql("select count(*) as n from ml_churn__predictions where as_of_date = "
                     "date '2030-04-01'").n[0] == 0


def world_connection(world):
    import duckdb

    return duckdb.connect(str(world.db))


def dbt_process(world, *args: str) -> subprocess.Popen:
    """Start `dbt build` in its own process, as a scheduler would (so it can be killed -9)."""
    env = {**os.environ, "DUCKDB_PATH": str(world.db), "MLMODELS_ARTIFACT_DIR": str(world.artifacts),
           "DBT_PROJECT_DIR": str(world.project), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
           "MLMODELS_SIGNING_KEY_FILE": str(world.artifacts.parent / "signing.key"),
           "MLMODELS_EXPORT_DIR": str(world.artifacts.parent / "exports")}
    out = world.project / "logs" / "killed_build.out"
    out.parent.mkdir(exist_ok=True)
    with out.open("w") as handle:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "dbt"), "build", "--project-dir",
             str(world.project), "--profiles-dir", str(REPO), *args],
            env=env, stdout=handle, stderr=subprocess.STDOUT)


def kill_when_started(world, process: subprocess.Popen, node: str, delay: float) -> bool:
    """Kill -9 the build `delay` seconds after dbt starts `node`; False if it never started."""
    out = world.project / "logs" / "killed_build.out"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        started = [line for line in out.read_text(errors="replace").splitlines()
                   if " START " in line and f".{node} " in line]
        if started:
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.05)
    print(out.read_text(errors="replace")[-3000:])
    return False


@pytest.fixture(scope="module")
def detached(tmp_path_factory):
    """A world only ever built by dbt processes of its own (the kill tests need the file lock:
    the in-process dbt of the other tests keeps its DuckDB file open)."""
    warehouse = new_warehouse(tmp_path_factory.mktemp("detached"))
    build_in_process_of_its_own(warehouse)
    return warehouse


def build_in_process_of_its_own(world, *args: str) -> None:
    process = dbt_process(world, *args)
    assert process.wait() == 0, (world.project / "logs" / "killed_build.out").read_text()[-3000:]


@pytest.mark.parametrize(("node", "delay"), [("ml_churn__scores", 0.5),
                                             ("ml_churn__train", 1.0),
                                             ("dq_feat_customer__as_of", 0.5),
                                             ("ml_churn__exports", 0.2)])
def test_kill_9_mid_build_loses_nothing(detached, node, delay):
    world = detached
    before = state(world)
    registry_file = world.artifacts / "churn" / "registry.json"
    registry_before = registry_file.read_text()
    if node == "ml_churn__train":
        # New labelled data, so the train step really trains when it is killed. (For the other
        # nodes the data stay as they are: training then finds its version registered, and the
        # only writer left is the killed node.)
        world.raw("insert into raw.events select event_id + 800000000, customer_id, event_type, "
                  "occurred_at - interval 3 day, amount from raw.events where event_type = "
                  "'order' and event_id % 53 = 0")
    try:
        process = dbt_process(world, "--select", f"+{node}+")
        assert kill_when_started(world, process, node, delay), f"{node} never started"
        json.loads(registry_file.read_text())  # still a valid registry
        if node != "ml_churn__train":
            assert registry_file.read_text() == registry_before
        assert_unchanged_scores(world, before)
        assert_complete_exports(world)
    finally:
        world.raw("delete from raw.events where event_id >= 800000000")
    build_in_process_of_its_own(world)  # the next run recovers on its own


def assert_complete_exports(world) -> None:
    """Every Parquet export a BI tool can open is whole (a killed export leaves only its .tmp)."""
    import pyarrow.parquet as pq

    exports = sorted((world.artifacts.parent / "exports").glob("*.parquet"))
    assert exports, "the detached world exported nothing"
    for path in exports:
        pq.read_table(path)


def assert_unchanged_scores(world, before: tuple) -> None:
    """The history is the one before the run or the one a finished run writes, never a part.

    On a fast machine the killed scores node may already have committed; a finished run re-scores
    the live as_of by design (a new scored_at, the same scores), so scored_at is left out.
    """
    scores = world.sql(SCORES).drop(columns="scored_at")
    assert scores.equals(before[0].drop(columns="scored_at")), \
        "a killed run changed the prediction history"
    champions = world.sql("select model_version from ml_model_registry where model_name = "
                          "'churn' and status = 'champion'")
    assert len(champions) == 1


@pytest.mark.parametrize(("field", "payload"), [
    ("target", "churned_90d) as x from raw.events; drop table raw.customers; select (1"),
    ("entity_key", "customer_id; drop table raw.customers"),
    ("as_of", "as_of_date -- "),
    ("training_set", "ml_churn__training_set /* */"),
])
def test_a_hostile_spec_is_refused_before_any_sql(world, field, payload):
    path = world.project / "ml" / "churn.yml"
    original = path.read_text()
    tables = world.sql("select table_schema, table_name from information_schema.tables "
                       "order by all")
    try:
        kept = [line for line in original.splitlines() if not line.startswith(f"{field}:")]
        path.write_text("\n".join([*kept, f"{field}: {json.dumps(payload)}", ""]))
        with pytest.raises(specs.SpecError, match=f"field '{field}'"):
            specs.load(path)
        with pytest.raises(scaffold.ScaffoldError, match=f"field '{field}'"):
            scaffold.write(world.project, "churn", force=True)
        result = world.build("--select", "ml_churn__preflight", expect_success=False)
        assert f"field '{field}'" in failures(result)
    finally:
        path.write_text(original)
    assert world.sql("select table_schema, table_name from information_schema.tables "
                     "order by all").equals(tables)


def test_a_renamed_source_column_fails_loudly_and_changes_nothing(world):
    before = state(world)
    world.raw("alter table raw.events rename column amount to order_amount")
    try:
        result = world.build(expect_success=False)
        assert "amount" in failures(result)
        assert_unchanged(world, before)
    finally:
        world.raw("alter table raw.events rename column order_amount to amount")


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]  # a copy cut short by a full disk


def tampered(data: bytes) -> bytes:
    middle = len(data) // 2  # one byte changed, the length kept: only the digest can tell
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]


@pytest.mark.parametrize("damage", [truncated, tampered])
def test_a_damaged_champion_artifact_is_refused_and_scores_nothing(world, damage):
    before = state(world)
    uri = world.sql("select artifact_uri from ml_model_registry where model_name = 'churn' "
                    "and status = 'champion'").artifact_uri[0]
    artifact = Path(uri)
    original = artifact.read_bytes()
    artifact.write_bytes(damage(original))
    try:
        result = world.build("--select", "+ml_churn__predictions", expect_success=False)
        message = failures(result)
        assert "ml_churn__scores" in message and "sha256" in message
        assert_unchanged(world, before)
    finally:
        artifact.write_bytes(original)
    world.build("--select", "+ml_churn__predictions")
    assert_unchanged(world, before, rescored_live=True)
