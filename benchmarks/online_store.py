"""The online store: a landed month appended vs the whole store rewritten (the anchor), the
service's reload, and the time from a landed month to the service answering with it.

Needs a built warehouse and a data folder with a production model (`make demo` makes both):

    MLOPS_DATA_DIR=data DUCKDB_DATABASE=data/warehouse.duckdb \\
        python benchmarks/online_store.py --month 2013-12 --runs 3

A month "lands" here as its arrivals and weather observations missing from the current store
(deleted from a copy), then the `online_store` asset runs as it would after the month's dbt
build: it appends them. The feature-store build of the month itself is measured by
benchmarks/features.py. Exits non-zero, printing no ratio, if a measured run failed.
"""

import argparse
import calendar
import os
import shutil
import sqlite3
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlops_assets.core.features.online_features import OnlineFeatures  # noqa: E402
from mlops_assets.core.features.online_store import (  # noqa: E402
    POINTER,
    current_store,
    frame_of,
    write_frame,
)
from mlops_assets.core.serving.readiness import start_bentoml_serve, wait_until_ready  # noqa: E402


def materialize(store: Path, full: bool) -> dict:
    """One run of the online_store asset; its metadata."""
    import dagster as dg

    from mlops_assets.assets.serving import online_store
    from mlops_assets.resources.online_store import OnlineStoreResource
    from mlops_assets.resources.warehouse import warehouse_resource

    result = dg.materialize(
        [online_store],
        resources={
            "warehouse": warehouse_resource(),
            "online": OnlineStoreResource(root=str(store)),
        },
        run_config={"ops": {"online_store": {"config": {"full_rebuild": full}}}},
    )
    if not result.success:
        raise RuntimeError("online_store failed")
    metadata = result.asset_materializations_for_node("online_store")[0].metadata
    return {k: v.value for k, v in metadata.items()}


def without_month(store: Path, month: str) -> None:
    """Make the current store one that has not seen ``month`` yet (a copy, then swapped in)."""
    start = datetime.fromisoformat(f"{month}-01")
    minute = calendar.timegm(start.timetuple()) // 60
    source = current_store(store)
    target = store / f"store-{time.time_ns()}.sqlite"
    shutil.copyfile(source, target)
    with sqlite3.connect(target) as conn:
        arrivals = frame_of(conn, "online_arrivals")
        write_frame(conn, "online_arrivals", arrivals.filter(pl.col("arrived_minute") < minute))
        conn.execute(
            "DELETE FROM online_origin_weather WHERE observed_at_utc >= ?", [start.isoformat()]
        )
    (store / POINTER).write_text(target.name)


def fresh_answer(store: Path, month: str, port: int) -> float:
    """Seconds from the month's append starting to the service answering with it."""
    request = {
        "carrier": "UA",
        "flight_number": 1545,
        "origin": "EWR",
        "dest": "IAH",
        "scheduled_departure": f"{month}-20T17:30:00",
    }
    server = start_bentoml_serve(ROOT / "bento", port, env={"MLOPS_RELOAD_SECONDS": "0.5"})
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/readyz", server)
        url = f"http://127.0.0.1:{port}/predict"
        if httpx.post(url, json=request, timeout=30).json()["stale_minutes"] == 0:
            raise RuntimeError("the store already knew the month")
        started = time.perf_counter()
        materialize(store, full=False)
        while time.perf_counter() - started < 120:
            if httpx.post(url, json=request, timeout=30).json()["stale_minutes"] == 0:
                return time.perf_counter() - started
            time.sleep(0.05)
        raise RuntimeError("the service never answered with the landed month")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--month", default="2013-12")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=3170)
    args = parser.parse_args()
    data = Path(os.environ["MLOPS_DATA_DIR"]).resolve()
    os.environ["MLOPS_DATA_DIR"] = str(data)
    store = data / "online_store"
    full, append, reload_s, answer = [], [], [], []
    for _ in range(args.runs):
        full.append(materialize(store, full=True)["seconds"])
        without_month(store, args.month)
        appended = materialize(store, full=False)
        if appended["mode"] != "append" or not appended["added_online_arrivals"]:
            raise RuntimeError(f"expected an append of {args.month}: {appended}")
        append.append(appended["seconds"])
        started = time.perf_counter()
        OnlineFeatures.open(store)
        reload_s.append(time.perf_counter() - started)
    without_month(store, args.month)
    answer.append(fresh_answer(store, args.month, args.port))
    rows = appended["added_online_arrivals"]
    print(f"month {args.month}: {rows:,} arrivals appended (medians of {args.runs})")
    print(f"  full store rewrite      {statistics.median(full):7.2f} s")
    print(f"  append the month        {statistics.median(append):7.2f} s")
    print(f"  service reload (open)   {statistics.median(reload_s):7.2f} s")
    print(f"  landed -> answered      {statistics.median(answer):7.2f} s (append + reload + poll)")
    print(f"append / full rewrite: {statistics.median(append) / statistics.median(full):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
