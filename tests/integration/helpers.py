"""Build copies of dbt_project on throwaway DuckDB files with real dbt runs."""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from dbt.cli.main import dbtRunner

from mlmodels import demo

REPO = Path(__file__).resolve().parents[2]
SMALL = 5000  # customers: the demo's scale, which the suites in expectations/ were drafted at


@dataclass
class Warehouse:
    """A copy of the dbt project with its own DuckDB file and artifact store."""

    project: Path
    db: Path
    artifacts: Path
    log: list[str] = field(default_factory=list)

    def build(self, *args: str, expect_success: bool = True):
        """Run `dbt build` on this warehouse (see :meth:`dbt`)."""
        return self.dbt("build", *args, expect_success=expect_success)

    def dbt(self, command: str, *args: str, expect_success: bool = True):
        env = {
            "DUCKDB_PATH": str(self.db),
            "MLMODELS_ARTIFACT_DIR": str(self.artifacts),
            "DBT_PROJECT_DIR": str(self.project),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MLMODELS_SIGNING_KEY_FILE": str(self.artifacts.parent / "signing.key"),
            "MLMODELS_EXPORT_DIR": str(self.artifacts.parent / "exports"),
        }
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        try:
            self.log.clear()
            result = dbtRunner(callbacks=[self._collect]).invoke([
                *command.split(), "--project-dir", str(self.project), "--profiles-dir", str(REPO),
                "--log-path", str(self.project / "logs"), "--quiet", *args,
            ])
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        if expect_success:
            assert result.success, f"dbt {command} failed: {failures(result)}"
        return result

    def _collect(self, event) -> None:
        """Keep the messages dbt logs (the data quality lines among them)."""
        message = getattr(event.info, "msg", "")
        if message:
            self.log.append(str(message))

    def sql(self, query: str):
        # Not read_only: dbt, in this same process, may still hold the file open read-write, and
        # DuckDB refuses a second connection with a different configuration.
        with duckdb.connect(str(self.db)) as con:
            return con.sql(query).df()

    def raw(self, statement: str) -> None:
        """Run a statement against the raw tables (to corrupt or perturb the sources)."""
        with duckdb.connect(str(self.db)) as con:
            con.execute(statement)

    @contextmanager
    def raw_restored(self, tables: tuple[str, ...] = ("customers", "plan_history", "events")
                     ) -> Iterator[None]:
        """Copy the raw tables, run the block (which may corrupt them), then put them back."""
        self.raw(" ".join(f"create table raw.clean_{table} as select * from raw.{table};"
                          for table in tables))
        try:
            yield
        finally:
            self.raw(" ".join(f"create or replace table raw.{table} as select * from "
                              f"raw.clean_{table}; drop table raw.clean_{table};"
                              for table in tables))

    def edit(self, relative: str, old: str, new: str) -> None:
        """Change the project copy's code: used to break a guard on purpose."""
        path = self.project / relative
        text = path.read_text()
        assert old in text, f"{old!r} not found in {relative}"
        path.write_text(text.replace(old, new))


def failures(result) -> str:
    """The failed nodes of a dbt result and their messages, in a few lines."""
    if result.exception is not None:
        return str(result.exception)
    return "; ".join(
        f"{r.node.name}: {r.status} {r.message}"
        for r in result.result.results
        if str(r.status) in {"error", "fail"}
    )


# Where a project copy finds its copy of the mlmodels dbt package (tests may break its macros).
PACKAGE_COPY = "../mlmodels_dbt"


def new_warehouse(root: Path, customers: int = SMALL, seed: int = 7) -> Warehouse:
    """Copy the project and the dbt package into root, generate demo data into a fresh DuckDB file.

    The copy's packages.yml points at its own copy of the package, so a test that breaks a macro
    on purpose (``edit(PACKAGE_COPY + "/macros/...")``) never touches the repository's.
    """
    project = root / "dbt_project"
    shutil.copytree(
        REPO / "dbt_project", project,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "package-lock.yml",
                                      "*.duckdb"),
    )
    shutil.copytree(REPO / "mlmodels" / "dbt", root / "mlmodels_dbt")
    (project / "packages.yml").write_text(f"packages:\n  - local: {PACKAGE_COPY}\n")
    shutil.copytree(REPO / "expectations", root / "expectations")
    warehouse = Warehouse(project=project, db=root / "warehouse.duckdb", artifacts=root / "artifacts")
    warehouse.dbt("deps")
    with duckdb.connect(str(warehouse.db)) as con:
        demo.generate(con, customers=customers, seed=seed)
    return warehouse


def shell(*command: str, cwd: Path) -> str:
    """Run one of the venv's commands as from a shell in a folder (its own process, as a user)."""
    executable = Path(sys.executable).parent / command[0]
    done = subprocess.run([str(executable), *command[1:]], cwd=cwd, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-4000:]}{done.stderr}"
    return done.stdout


def throwaway_project(root: Path, name: str, package: Path) -> Path:
    """Write an empty dbt project `name` under `root` that adopts the mlmodels dbt package at
    `package` (a local package, as a user would; a copy when a test breaks it on purpose)."""
    project = root / name
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        f"name: {name}\nconfig-version: 2\nprofile: mlmodels\n"
        f"models:\n  {name}:\n    +materialized: table\n"
        "flags:\n  send_anonymous_usage_stats: false\n")
    (project / "packages.yml").write_text(f"packages:\n  - local: {package}\n")
    return project
