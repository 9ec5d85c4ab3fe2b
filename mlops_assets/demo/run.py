"""`mlops-demo`: the closed loop on Dagster's own daemon, month by month.

    mlops-demo [--first YYYY-MM] [--last YYYY-MM] [--inject-drift YYYY-MM] [--requests N]

It starts `dagster dev` (webserver + daemon, 127.0.0.1) and, once a model is in production,
`bentoml serve`; then it only does what the outside world does. Each month: the month's raw
files are delivered to the landing folder, and that month's requests (dataset/demo.py) go to the
service. Everything else (loading, feature store, drift and quality checks, retrain, gate,
promotion, Bento, hot swap) is launched by sensors and declarative automation under the daemon.
The lines printed are read from the Dagster instance: the runs the UI shows.
"""

import argparse
import os
import shutil
import signal
import sys
from pathlib import Path

MARKER = ".mlops-demo"


def demo_env(data_dir: Path) -> dict[str, str]:
    """The environment of a demo whose whole world lives in ``data_dir`` (for a subprocess)."""
    return {
        **os.environ,
        "MLOPS_DATA_DIR": str(data_dir),
        "DAGSTER_HOME": str(data_dir / "dagster_home"),
        "DUCKDB_DATABASE": str(data_dir / "warehouse.duckdb"),
    }


def prepare(data_dir: Path, dagster_home: Path, project_root: Path) -> None:
    """A fresh world for the demo in its own folder (never a folder it did not make)."""
    if data_dir.exists() and any(data_dir.iterdir()) and not (data_dir / MARKER).exists():
        raise SystemExit(
            f"MLOPS_DATA_DIR={data_dir} holds data the demo did not make; "
            "point MLOPS_DATA_DIR at an empty folder (make demo uses data/demo)"
        )
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    dagster_home.mkdir(parents=True, exist_ok=True)  # in data_dir, or the stack's own folder
    (data_dir / MARKER).write_text("made by mlops-demo; deleted by the next demo\n")
    # an instance of its own (wiped above), or the one it was given (the scale-out stack's)
    if not (dagster_home / "dagster.yaml").exists():
        shutil.copy(project_root / "config" / "dagster.yaml", dagster_home / "dagster.yaml")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    from mlops_assets.dataset import demo

    parser.add_argument("--history", default=demo.HISTORY, help="first month delivered at start")
    parser.add_argument("--first", default=demo.FIRST, help="first month served")
    parser.add_argument("--last", default=demo.LAST)
    parser.add_argument(
        "--requests", type=int, default=demo.REQUESTS_PER_MONTH, help="requests per month"
    )
    parser.add_argument("--inject-drift", action="append", default=None, metavar="YYYY-MM")
    parser.add_argument(
        "--redeliver-last", action="store_true", help="then deliver the last month again"
    )
    parser.add_argument(
        "--trickle", type=float, metavar="MINUTES", help="then one request every 15 s"
    )
    parser.add_argument(
        "--bad-month", metavar="YYYY-MM", help="then deliver this month with a renamed column"
    )
    parser.add_argument("--port", type=int, default=3100, help="the service's port")
    parser.add_argument("--ui-port", type=int, default=3070, help="the Dagster UI's port")
    args = parser.parse_args()
    inject = set(args.inject_drift if args.inject_drift is not None else demo.INJECT_DRIFT)

    from mlops_assets.settings import DATA_DIR, PROJECT_ROOT

    dagster_home = Path(os.environ.setdefault("DAGSTER_HOME", str(DATA_DIR / "dagster_home")))
    prepare(DATA_DIR, dagster_home, PROJECT_ROOT)

    import dagster as dg

    from mlops_assets.core.months import month_range
    from mlops_assets.demo.loop import Loop

    # `kill` stops the demo like Ctrl-C does: the servers are stopped on the way out
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    log = DATA_DIR / "demo.log"
    print(f"Dagster's event stream and the service's log: {log}", flush=True)
    instance = dg.DagsterInstance.get()
    if instance.get_runs(limit=1):  # a stack's PostgreSQL outlives the data folder
        raise SystemExit(
            f"the Dagster instance of {dagster_home} already holds runs: the demo starts from an "
            "empty one (`make stack` brings a fresh stack up)"
        )
    loop = Loop(instance, log, args.port, args.ui_port)
    try:
        loop.start()
        loop.bootstrap(args.history, args.first)
        loop.serve()
        for month in month_range(args.first, args.last):
            loop.month(month, args.requests, month in inject)
        if args.trickle:
            loop.trickle(args.last, args.trickle)
        if args.redeliver_last:
            loop.redeliver(args.last)
        if args.bad_month:
            loop.bad_delivery(args.bad_month)
        loop.summary()
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the servers", flush=True)
        return 130
    finally:
        loop.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
