"""The outside world of the demo: a data feed that delivers a month of raw files, and clients
that ask the service about that month (what they ask is the dataset's: ``dataset/demo.py``).

Nothing here touches the warehouse, the registry or Dagster: deliveries are files written to the
landing folder (``raw_delivery_sensor`` picks them up) and traffic is HTTP to the service.
"""

import os
from collections import Counter

import duckdb
import httpx

from mlops_assets.core.features.online_features import serving_contract
from mlops_assets.dataset import demo
from mlops_assets.dataset.raw_tables import MONTHLY_TABLES
from mlops_assets.resources.raw_files import RawFilesResource

SERVING = serving_contract()


def source_sql(raw_files: RawFilesResource, table) -> str:
    """The source file of ``table`` as text: a delivery is the source's own text, byte for
    byte per value."""
    return f"read_csv('{raw_files.csv_path(table)}', header = true, all_varchar = true)"


def month_traffic(
    raw_files: RawFilesResource, month: str, requests: int, drifted: bool = False
) -> list[dict]:
    """The dataset's requests for ``month`` (``dataset/demo.py`` says how they are drawn)."""
    return demo.month_traffic(raw_files, month, requests, drifted)


def deliver_month(raw_files: RawFilesResource, month: str) -> dict[str, int]:
    """Write ``month`` of every monthly table into the landing folder as the feed would: one
    CSV per table, renamed into place whole. Returns rows per table."""
    year, m = month.split("-")
    rows = {}
    with duckdb.connect() as conn:
        for table in MONTHLY_TABLES:
            target = raw_files.landed_path(table, int(year), int(m))
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.partial")
            conn.execute(
                f"COPY (SELECT * FROM {source_sql(raw_files, table)} "
                f"WHERE {table.month_sql(typed=False)} = {int(year) * 100 + int(m)}) "
                f"TO '{partial}' (HEADER, DELIMITER ',')"
            )
            rows[table.name] = conn.execute(
                f"SELECT count(*) FROM read_csv('{partial}', header = true, all_varchar = true)"
            ).fetchone()[0]
            os.replace(partial, target)
    return rows


def deliver_with_renamed_column(
    raw_files: RawFilesResource, month: str, table: str, column: str, renamed: str
) -> None:
    """A faulty delivery, as a feed's schema change would make it: one column renamed."""
    deliver_month(raw_files, month)
    path = raw_files.landed_path(
        next(t for t in MONTHLY_TABLES if t.name == table), *map(int, month.split("-"))
    )
    header, rest = path.read_text().split("\n", 1)
    names = [renamed if name == column else name for name in header.split(",")]
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(",".join(names) + "\n" + rest)
    os.replace(partial, path)


def send(url: str, flights: list[dict], chunk: int = 500) -> Counter:
    """POST the flights in chunks; count answers by model version (and errors)."""
    answered: Counter = Counter()
    with httpx.Client(timeout=60) as client:
        for i in range(0, len(flights), chunk):
            response = client.post(
                f"{url}/predict_many", json={SERVING.plural: flights[i : i + chunk]}
            )
            if response.status_code != 200:
                answered[f"HTTP {response.status_code}"] += 1
                continue
            answered.update(f"v{p['model_version']}" for p in response.json()["predictions"])
    return answered


def served_version(url: str, flight: dict) -> int | None:
    """The model version the service answers ``flight`` with (None: no answer)."""
    try:
        response = httpx.post(f"{url}/predict", json=flight, timeout=10)
        return response.json()["model_version"] if response.status_code == 200 else None
    except httpx.HTTPError:
        return None
