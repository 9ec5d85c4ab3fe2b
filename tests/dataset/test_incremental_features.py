"""The feature store grows by the month: landing January to March one month at a time (one
partition per run, as deliveries land them) gives the same tables as building the whole year
at once (`built_warehouse`), every column of every row; landing a month again replaces its rows
instead of adding them. March is the hard month: its 30-day windows reach back past February
into January.

Real parts: the project's Dagster job, real `dbt build` runs with the partition window as dbt
vars, a real DuckDB file. About a minute and a half.
"""

import json
import os
import subprocess
import sys

import duckdb
import pytest

from mlops_assets.core.months import month_after
from tests.conftest import REPO

MONTHS = ("2013-01", "2013-02", "2013-03")
MONTHLY_TABLES = (
    "intermediate.int_flights",
    "intermediate.int_flight_outcomes",
    "intermediate.int_flight_weather",
    "intermediate.int_history__route",
    "intermediate.int_history__carrier",
    "intermediate.int_history__origin_hour",
    "intermediate.int_history__tailnum",
    "marts.flight_features",
)
# Lands each month in its own run of the project's `build_features` job, in one process (one
# import of the definitions), then February again: the first run builds everything, later ones
# what a delivery's run rebuilds of the offline store (the raw month and the monthly models).
# Prints the dbt vars each monthly build received.
LAND = """
import json, sys
import dagster as dg
from mlops_assets.assets.features import monthly_dbt_assets
from mlops_assets.definitions import defs
from mlops_assets.jobs import MONTHLY_RAW

job = defs.resolve_job_def("build_features")
instance = dg.DagsterInstance.get()
for i, month in enumerate(sys.argv[1:]):
    selection = None if i == 0 else [*MONTHLY_RAW, *monthly_dbt_assets.keys]
    result = job.execute_in_process(
        partition_key=f"{month}-01", instance=instance, asset_selection=selection
    )
    assert result.success, month
    [start] = [
        e.message for e in instance.all_logs(result.run_id) if "Running dbt command" in e.message
        and "--vars" in e.message
    ]
    print(json.dumps({"month": month, "dbt": start}))
"""


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    """A fresh warehouse and instance, January to March landed one month per run, then
    February again."""
    home = tmp_path_factory.mktemp("incremental")
    (home / "dagster_home").mkdir()
    (home / "dagster_home" / "dagster.yaml").write_text((REPO / "config/dagster.yaml").read_text())
    env = {
        **os.environ,
        "MLOPS_DATA_DIR": str(home),
        "DAGSTER_HOME": str(home / "dagster_home"),
        "DUCKDB_DATABASE": str(home / "warehouse.duckdb"),
    }
    landed = subprocess.run(
        [sys.executable, "-c", LAND, *MONTHS, "2013-02"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert landed.returncode == 0, landed.stdout[-3000:] + landed.stderr[-3000:]
    runs = [json.loads(line) for line in landed.stdout.splitlines() if line.startswith("{")]
    return home / "warehouse.duckdb", runs


def test_each_run_builds_only_its_month(landed):
    _, runs = landed
    assert [r["month"] for r in runs] == [*MONTHS, "2013-02"]
    for run in runs:
        window = {
            "batch_start": f"{run['month']}-01",
            "batch_end": f"{month_after(run['month'])}-01",
        }
        assert json.dumps(window) in run["dbt"], run["dbt"]


def _differences(conn, table: str) -> tuple[int, int]:
    """Rows of the incremental table not in the full one and the other way, duplicates
    counted, over the landed months."""
    landed = "flight_date < DATE '2013-04-01'"
    mine = f"SELECT * FROM {table} WHERE {landed}"
    full = f"SELECT * FROM full_build.{table} WHERE {landed}"
    return (
        conn.execute(f"SELECT count(*) FROM ({mine} EXCEPT ALL {full})").fetchone()[0],
        conn.execute(f"SELECT count(*) FROM ({full} EXCEPT ALL {mine})").fetchone()[0],
    )


def test_months_landed_one_by_one_equal_the_full_build_every_column_of_every_row(
    landed, built_warehouse
):
    warehouse, _ = landed
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        conn.execute(f"ATTACH '{built_warehouse}' AS full_build (READ_ONLY)")
        for table in MONTHLY_TABLES:
            columns = conn.execute(f"DESCRIBE {table}").fetchall()
            assert columns == conn.execute(f"DESCRIBE full_build.{table}").fetchall(), table
            rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            assert rows > 50_000, table
            assert _differences(conn, table) == (0, 0), table
        # nothing beyond the landed months was built
        latest = conn.execute("SELECT max(flight_date) FROM marts.flight_features").fetchone()[0]
        assert str(latest) == "2013-03-31"


def test_a_month_landed_twice_has_its_rows_once(landed):
    warehouse, _ = landed
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        for table in MONTHLY_TABLES:
            duplicated = conn.execute(
                f"SELECT count(*) - count(DISTINCT flight_id) FROM {table}"
            ).fetchone()[0]
            assert duplicated == 0, table
