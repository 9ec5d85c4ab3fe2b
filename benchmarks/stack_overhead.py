"""The retrain job on the scale-out stack vs the local default: the overhead of moving the same
job onto PostgreSQL storage, Celery workers (Redis broker) and S3 step outputs (moto's server),
by configuration only.

Both settings get their own fresh data folder with January-April landed, the feature store
built (`build_features`) and the online store the Bento packs (untimed); then, in rounds, each
runs the `retrain` job (test month 2013-04, two training months: the demo's cold start) with
`dagster job execute`, the command a user runs. Local: the project's dagster.yaml (SQLite
storage, in-process executor, files). Stack: `mlops-stack up` with two Celery workers, its
environment only. A run that exits non-zero (its Dagster run failed) stops the benchmark (exit
1, no ratio).

    python benchmarks/stack_overhead.py --runs 3     # needs `make setup-stack` first
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.features import Run, measure

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HISTORY = {
    "dagster/asset_partition_range_start": "2013-01-01",
    "dagster/asset_partition_range_end": "2013-04-01",
}
RETRAIN = {"ops": {"training_set": {"config": {"test_month": "2013-04", "train_months": 2}}}}
QUIET = {"DO_NOT_TRACK": "1", "BENTOML_DO_NOT_TRACK": "true", "WHYLOGS_NO_ANALYTICS": "True"}


def dagster(*args: str) -> list[str]:
    return [str(BIN / "dagster"), "job", "execute", "-m", "mlops_assets.definitions", *args]


def local_env(folder: Path) -> dict[str, str]:
    home = folder / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(ROOT / "config" / "dagster.yaml", home / "dagster.yaml")
    from mlops_assets.stack.services import Stack

    stack_only = Stack("", "", 0, 0, 0, 0).env()  # a sourced data/stack.env must not leak in
    return {
        **{k: v for k, v in os.environ.items() if k not in stack_only},
        **QUIET,
        "MLOPS_DATA_DIR": str(folder),
        "DAGSTER_HOME": str(home),
        "DUCKDB_DATABASE": str(folder / "warehouse.duckdb"),
    }


def checked(run: Run, what: str) -> Run:
    """The run, or exit 1 printing its log: a failed run is not a measurement."""
    if run.returncode != 0:  # `dagster job execute` exits non-zero when the run fails
        print(
            f"{what} FAILED (exit {run.returncode}); its log ends:\n{run.log.read_text()[-4000:]}"
        )
        raise SystemExit(1)
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from mlops_assets.stack import cli, services

    work = Path(tempfile.mkdtemp(prefix="stack-overhead-"))
    os.chmod(work, 0o755)  # PostgreSQL's own user must reach its cluster
    config = work / "retrain.json"
    config.write_text(json.dumps(RETRAIN))
    try:
        stack = cli.up(work / "servers", work / "stack-data", workers=args.workers)
        envs = {
            "local": local_env(work / "local-data"),
            "stack": {**os.environ, **QUIET, **stack.env()},
        }
        for name, env in envs.items():
            features = dagster("-j", "build_features", "--tags", json.dumps(HISTORY))
            run = checked(
                measure(features, env, work / f"{name}-features.log"), f"{name}: features"
            )
            online = [
                str(BIN / "dagster"),
                "asset",
                "materialize",
                "-m",
                "mlops_assets.definitions",
            ]
            online += ["--select", "online_store"]  # the Bento of a retrain packs it
            checked(measure(online, env, work / f"{name}-online.log"), f"{name}: online store")
            print(f"{name}: January-April landed and built in {run.wall_s:.1f} s", flush=True)
        times: dict[str, list[float]] = {name: [] for name in envs}
        for i in range(args.runs):
            for name, env in envs.items():
                log = work / f"{name}-retrain-{i}.log"
                run = checked(
                    measure(dagster("-j", "retrain", "-c", str(config)), env, log),
                    f"{name}: retrain {i + 1}",
                )
                times[name].append(run.wall_s)
                print(
                    f"{name}: retrain {i + 1}: {run.wall_s:.1f} s, peak {run.peak_mb:.0f} MB",
                    flush=True,
                )
    finally:
        services.stop_all(work / "servers")
        shutil.rmtree(work, ignore_errors=True)
    local, stacked = (statistics.median(times[n]) for n in ("local", "stack"))
    print(f"\n| retrain job, {args.runs} runs | median wall s |\n| --- | --- |")
    print(f"| local default (SQLite, in-process executor, files) | {local:.1f} |")
    print(f"| stack (Postgres, {args.workers} Celery workers, S3) | {stacked:.1f} |")
    print(f"\nstack / local: {stacked / local:.2f} (goal <= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
