"""A raw table dated by an expression over its own fields: a source with no date column (hourly
counts stamped in epoch seconds) is still loaded, split and refused by month."""

import duckdb
import pytest

from mlops_assets.core.ingestion.raw_contract import RawTable
from mlops_assets.core.ingestion.raw_loader import RawDataError, stage_months

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
