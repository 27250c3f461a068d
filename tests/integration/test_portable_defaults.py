"""The portable `default__` form of every macro that DuckDB overrides, run on DuckDB itself.

The demo runs the `duckdb__` overrides, so without this file no test would ever run a default.
Each test writes, into a copy of the project, a `duckdb__<name>` macro for every override the
package has that forwards to `mlmodels.default__<name>`, puts the project first in the dispatch
search order, and compares what the default builds with what the override built.
"""

import re

from tests.integration.helpers import REPO, new_warehouse

MODELS_ONLY = ("--exclude-resource-type", "test")
KEYS = "customer_id, as_of_date"
OVERRIDE = re.compile(r"{%-?\s*macro\s+duckdb__(\w+)\((.*?)\)\s*-?%}", re.DOTALL)


def overridden_macros() -> dict[str, list[str]]:
    """Each macro the package overrides for DuckDB, with its argument names."""
    found = {}
    for path in sorted((REPO / "mlmodels" / "dbt" / "macros").glob("*.sql")):
        for name, arguments in OVERRIDE.findall(path.read_text()):
            found[name] = [a.split("=")[0].strip() for a in arguments.split(",") if a.strip()]
    return found


def force_defaults(warehouse) -> list[str]:
    """Make the project's dispatch pick every macro's default on DuckDB; return their names."""
    macros = overridden_macros()
    forwarding = "\n".join(
        f"{{% macro duckdb__{name}({', '.join(args)}) -%}}\n"
        f"    {{{{ return(mlmodels.default__{name}({', '.join(args)})) }}}}\n"
        "{%- endmacro %}\n" for name, args in macros.items())
    (warehouse.project / "macros").mkdir(exist_ok=True)
    (warehouse.project / "macros" / "force_portable_defaults.sql").write_text(forwarding)
    config = warehouse.project / "dbt_project.yml"
    config.write_text(config.read_text() + "\ndispatch:\n  - macro_namespace: mlmodels\n"
                      "    search_order: ['mlmodels_demo', 'mlmodels']\n")
    return list(macros)


def mart(warehouse):
    return warehouse.sql(f"select * from feat_customer__as_of order by {KEYS}")


def compiled_mart(warehouse) -> str:
    path = warehouse.project / "target" / "compiled" / "mlmodels_demo" / "models" / "features"
    return (path / "feat_customer__as_of.sql").read_text()


def test_every_default_builds_the_rows_of_its_duckdb_override(tmp_path):
    warehouse = new_warehouse(tmp_path, customers=1500)
    warehouse.build("--select", "+feat_customer__as_of", *MODELS_ONLY)
    with_overrides = mart(warehouse)
    assert "asof left join" in compiled_mart(warehouse)

    assert "asof_left_join" in force_defaults(warehouse)
    warehouse.build("--select", "+feat_customer__as_of", *MODELS_ONLY)
    with_defaults = mart(warehouse)
    assert "asof left join" not in compiled_mart(warehouse)  # the default did render
    assert len(with_overrides) > 10_000
    assert with_defaults.equals(with_overrides)


def test_the_default_as_of_join_keeps_one_row_per_entity_and_as_of_on_ties(tmp_path):
    """Two plan rows of one customer at the same instant: both joins must still give one row."""
    warehouse = new_warehouse(tmp_path, customers=1500)
    warehouse.raw("""
        insert into raw.plan_history
        select customer_id, case when plan = 'premium' then 'basic' else 'premium' end, valid_from
        from raw.plan_history where customer_id % 4 = 0""")
    warehouse.build("--select", "+feat_customer__as_of", *MODELS_ONLY)
    with_overrides = mart(warehouse)
    force_defaults(warehouse)
    warehouse.build("--select", "+feat_customer__as_of", *MODELS_ONLY)
    with_defaults = mart(warehouse)
    tied = warehouse.sql("""
        select count(*) as n from (select customer_id, valid_from from stg_demo__plan_history
                                   group by all having count(*) > 1)""").n[0]
    assert tied > 100
    for built in (with_overrides, with_defaults):
        assert not built.duplicated(["customer_id", "as_of_date"]).any()
    # Which of two tied plans holds is the engine's choice; every other column is the same.
    assert len(with_defaults) == len(with_overrides)
    assert with_defaults.drop(columns="plan").equals(with_overrides.drop(columns="plan"))

