"""Monitoring: whylogs profiling inside the service's path vs whylogs alone. (The time from
drift to the service answering with a retrained model, under the daemon: daemon_loop.py.)

    MLOPS_DATA_DIR=data DAGSTER_HOME=data/dagster_home python benchmarks/monitoring.py

(1) Profiling: the same feature rows (real rows of the mart) profiled by whylogs alone
(``why.log`` on a ready pandas frame) and by the service's ``ServingProfiler`` (rows appended
as dicts per request, then a flush: dicts -> frame -> whylogs -> the profile store). The append
is what a request pays; the flush runs on a background thread.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MODEL = f"loop_benchmark_{int(time.time())}"
os.environ["MLOPS_MODEL_NAME"] = MODEL


def profiling(rows: int) -> dict:
    import duckdb
    import whylogs as why  # after mlops_assets.core.monitoring.profiling set the NumPy alias

    from mlops_assets.core.blob_store import LocalBlobStore
    from mlops_assets.core.monitoring.profile_store import ProfileStore
    from mlops_assets.core.serving.serving_profiler import ServingProfiler
    from mlops_assets.dataset.problem import FEATURE_TABLE, FEATURES
    from mlops_assets.settings import DUCKDB_DATABASE

    with duckdb.connect(DUCKDB_DATABASE, read_only=True) as conn:
        frame = conn.sql(
            f"SELECT {', '.join(FEATURES)} FROM {FEATURE_TABLE} LIMIT {rows}"
        ).to_arrow_table()
    import polars as pl

    frame = pl.from_arrow(frame)
    dicts, pandas = frame.to_dicts(), frame.to_pandas()
    started = time.perf_counter()
    why.log(pandas=pandas).view()
    alone = time.perf_counter() - started

    def service_path(max_rows: int) -> tuple[float, float]:
        with tempfile.TemporaryDirectory() as folder:
            profiler = ServingProfiler(ProfileStore(LocalBlobStore(folder)), MODEL, max_rows)
            started = time.perf_counter()
            for row in dicts:
                profiler.add("2013-01", [row], [0.5])
            appended = time.perf_counter() - started
            started = time.perf_counter()
            profiler.flush()
            return appended, time.perf_counter() - started

    every_append, every_flush = service_path(rows)  # every row profiled
    sampled_append, sampled_flush = service_path(5000)  # the service's default sample
    return {
        "rows": rows,
        "whylogs_alone_rows_s": rows / alone,
        "every_row_rows_s": rows / (every_append + every_flush),
        "sampled_rows_s": rows / (sampled_append + sampled_flush),
        "append_us_per_request": sampled_append / rows * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    import mlops_assets.core.monitoring.profiling  # noqa: F401  (the NumPy 2 alias before whylogs)

    p = profiling(args.rows)
    print(f"profiling {p['rows']:,} feature rows (47 features):")
    alone = p["whylogs_alone_rows_s"]
    print(f"  whylogs alone (pandas frame ready)      {alone:>10,.0f} rows/s")
    print(
        f"  service path, every row profiled        {p['every_row_rows_s']:>10,.0f} rows/s "
        f"(ratio to alone {p['every_row_rows_s'] / alone:.2f})"
    )
    print(
        f"  service path, 5,000-row sample/interval {p['sampled_rows_s']:>10,.0f} rows/s "
        f"(ratio to alone {p['sampled_rows_s'] / alone:.2f}; "
        f"{p['append_us_per_request']:.1f} us per request on the request path)"
    )


if __name__ == "__main__":
    main()
