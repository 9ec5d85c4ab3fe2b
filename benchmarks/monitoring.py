"""Monitoring: whylogs profiling inside the service's path vs whylogs alone, and the time from
a drift injection to the service answering with a retrained model.

    MLOPS_DATA_DIR=data DAGSTER_HOME=data/dagster_home python benchmarks/monitoring.py

(1) Profiling: the same feature rows (real flights from the mart) profiled by whylogs alone
(``why.log`` on a ready pandas frame) and by the service's ``ServingProfiler`` (rows appended
as dicts per request, then a flush: dicts -> frame -> whylogs -> the profile store). The append
is what a request pays; the flush runs on a background thread.
(2) The loop: under a fresh model name (so the run keys and registry of the demo are left
alone), a first model trained on Jan (tested on March), a real `bentoml serve`, then April's
traffic replaced by the evening-Newark mix; the clock runs from the first request of that
traffic until the service answers with the retrained version. Needs `make demo`'s features.
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
os.environ["MLOPS_RETRAIN_COOLDOWN_SECONDS"] = "0"


def profiling(rows: int) -> dict:
    import duckdb
    import whylogs as why  # after mlops_assets.core.profiling set the NumPy alias

    from mlops_assets.core.blob_store import LocalBlobStore
    from mlops_assets.core.profile_store import ProfileStore
    from mlops_assets.core.serving_profiler import ServingProfiler
    from mlops_assets.dataset.problem import FEATURES
    from mlops_assets.settings import DUCKDB_DATABASE

    with duckdb.connect(DUCKDB_DATABASE, read_only=True) as conn:
        frame = conn.sql(
            f"SELECT {', '.join(FEATURES)} FROM marts.flight_features LIMIT {rows}"
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


def loop(flights: int) -> dict:
    import dagster as dg

    from mlops_assets.core.readiness import start_bentoml_serve, wait_until_ready
    from mlops_assets.definitions import defs
    from mlops_assets.replay import bootstrap, replay, serve_as_of
    from mlops_assets.sensor_ticks import SensorTicks
    from mlops_assets.settings import DATA_DIR

    ticks = SensorTicks(defs, dg.DagsterInstance.get(), log_level="CRITICAL")
    registry = defs.resources["model_registry"].registry()
    policy = defs.resources["monitoring_policy"]
    events: list[tuple[float, str]] = []

    def say(month, event):
        events.append((time.monotonic(), f"{month} {event}"))
        print(f"  {month} {event[:150]}", flush=True)

    serve_as_of(ticks, "2013-04")
    bootstrap(ticks, registry, MODEL, "2013-04", policy, say)
    first = registry.production(MODEL).version
    port = 3190
    server = start_bentoml_serve(
        ROOT / "bento",
        port,
        env={"MLOPS_PROFILE_SECONDS": "1", "MLOPS_RELOAD_SECONDS": "1"},
        log=DATA_DIR / "loop_benchmark_service.log",
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/readyz", server)
        started = time.monotonic()
        (row,) = replay(ticks, f"http://127.0.0.1:{port}", ["2013-04"], flights, {"2013-04"}, say)
        answered = time.monotonic()
    finally:
        server.terminate()
        server.wait(timeout=30)
        serve_as_of(ticks, None)
    second = registry.production(MODEL).version
    return {
        "first_version": first,
        "new_version": second,
        "action": row["action"],
        # replay() returns once the service answered with the new version (or gave up)
        "injection_to_new_model_s": answered - started if second != first else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--flights", type=int, default=2000)
    parser.add_argument("--skip-loop", action="store_true", help="profiling figures only")
    args = parser.parse_args()
    import mlops_assets.core.profiling  # noqa: F401  (the NumPy 2 alias before whylogs)

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
    if args.skip_loop:
        return
    print("drift injection -> the service answers with the retrained model:")
    result = loop(args.flights)
    print(
        f"  v{result['first_version']} -> v{result['new_version']}: "
        f"{result['injection_to_new_model_s']:.1f} s ({result['action']}); goal <= 120 s"
    )


if __name__ == "__main__":
    main()
