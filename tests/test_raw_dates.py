"""A raw table dated by an expression over its own fields: a source with no date column (hourly
counts stamped in epoch seconds) is still loaded, split and refused by month."""

import os
import subprocess
import sys

import duckdb
import pytest

from mlops_assets.core.ingestion.raw_contract import RawTable
from mlops_assets.core.ingestion.raw_loader import RawDataError, stage_months
from tests.conftest import REPO

HOURLY = RawTable(
    name="rides",
    file_name="rides.csv",
    columns={"epoch": "int", "station": "str", "rides": "int"},
    key=("epoch", "station"),
    date_expression="CAST(to_timestamp(CAST(epoch AS BIGINT)) AS DATE)",
)
JAN_31_23H, FEB_1_00H = 1359673200, 1359676800  # 2013-01-31 23:00 and 2013-02-01 00:00 UTC


def _csv(path, *epochs):
    path.write_text("epoch,station,rides\n" + "".join(f"{e},A,{i}\n" for i, e in enumerate(epochs)))
    return path


def test_months_come_from_the_expression(tmp_path):
    source = _csv(tmp_path / "rides.csv", JAN_31_23H, FEB_1_00H, FEB_1_00H + 3600)
    with duckdb.connect() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        report = stage_months(conn, HOURLY, {source: [(2013, 2)]})
    assert report.rows_by_month == {"2013-02": 2}  # January's hour is left out of the load


def test_a_delivery_with_a_row_of_another_month_is_refused_naming_it(tmp_path):
    delivery = _csv(tmp_path / "2013-02.csv", JAN_31_23H, FEB_1_00H)
    with duckdb.connect() as conn, pytest.raises(RawDataError, match="2013-01"):
        conn.execute("SET TimeZone = 'UTC'")
        stage_months(conn, HOURLY, {delivery: [(2013, 2)]}, frozenset({delivery}))


def test_delivered_text_is_dated_the_same_way(tmp_path):
    source = _csv(tmp_path / "rides.csv", JAN_31_23H, FEB_1_00H)
    with duckdb.connect() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        months = conn.execute(
            f"SELECT {HOURLY.month_sql(typed=False)} FROM read_csv('{source}', all_varchar = true)"
        ).fetchall()
    assert months == [(201301,), (201302,)]


def test_a_table_dated_two_ways_is_refused():
    with pytest.raises(ValueError, match="one of month_columns, date_column, date_expression"):
        RawTable("t", "t.csv", {"d": "date"}, ("d",), date_column="d", date_expression="d")


def test_the_warehouse_dates_rows_in_utc_whatever_the_machines_zone(tmp_path):
    """A row stamped 2013-02-01 00:30 UTC is February's on a machine in New York too (where it is
    still January 31 locally): the warehouse's sessions and dbt's profile set TimeZone to UTC."""
    source = _csv(tmp_path / "rides.csv", FEB_1_00H + 1800)
    script = (
        "from pathlib import Path; import duckdb\n"
        "from mlops_assets.resources.warehouse import WarehouseResource\n"
        "from mlops_assets.core.ingestion.raw_loader import stage_months\n"
        "from tests.test_raw_dates import HOURLY\n"
        "with duckdb.connect() as conn:\n"
        "    print('local', conn.execute(f'SELECT {HOURLY.month_sql(typed=False)} FROM "
        f"read_csv(\\'{source}\\', all_varchar = true)').fetchone()[0])\n"
        "with WarehouseResource(database=':memory:').get_connection() as conn:\n"
        f"    print('warehouse', *stage_months(conn, HOURLY, {{Path('{source}'): [(2013, 2)]}})"
        ".rows_by_month)\n"
    )
    env = {**os.environ, "TZ": "America/New_York"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["local 201301", "warehouse 2013-02"]
