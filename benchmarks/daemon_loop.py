"""The loop under Dagster's daemon: drift injected -> the service answers with the retrained
model, and a delivered month -> updated features, against the work those runs did.

    python benchmarks/daemon_loop.py [--runs 3]

Each run is a fresh `mlops-demo` (its own data folder and DAGSTER_HOME, `dagster dev` and
`bentoml serve` on free ports): January to April delivered, a first model trained, then May
delivered and its traffic sent with injected drift (evening departures from Newark only).
Measured from the Dagster instance and the demo's own clock:
  drift -> served   the drift check's run ended -> the service answers with the new version
  retrain work      the retrain run's steps (training set, candidates, evaluation, promotion,
                    reference profile, Bento), summed: the anchor
  delivery -> features   the delivery written -> the online store updated
  land work         the land run's steps, summed: the anchor
Ratios say what orchestration adds (sensor intervals, run queue, run process start-up).
A run that fails exits non-zero and prints no ratio. Medians over the runs.
"""

import argparse
import re
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def step_seconds(instance, run_id: str) -> float:
    """The summed duration of a run's steps (what the run did, without starting up)."""

    stats = instance.get_run_step_stats(run_id)
    return (
        sum(
            (s.end_time or 0) - (s.start_time or 0)
            for s in stats
            if s.status and s.status.value == "SUCCESS"
        )
        if stats
        else 0.0
    )


def one_run(folder: Path) -> dict:
    import dagster as dg

    from mlops_assets.demo.run import demo_env

    data = folder / "data"
    env = demo_env(data)
    args = [
        str(BIN / "mlops-demo"),
        *("--history", "2013-01", "--first", "2013-05", "--last", "2013-05"),
        *("--inject-drift", "2013-05", "--port", str(free_port())),
        *("--ui-port", str(free_port())),
    ]
    demo = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if demo.returncode != 0:
        raise RuntimeError(f"mlops-demo failed:\n{demo.stdout[-3000:]}\n{demo.stderr[-3000:]}")
    served = re.findall(r"answers with v\d+, (\d+) s after the drift check", demo.stdout)
    features = re.search(r"^2013-05\s+(\d+) s", demo.stdout, re.MULTILINE)
    if not served or not features:
        raise RuntimeError(f"no retrain reached the service in May:\n{demo.stdout[-3000:]}")
    instance = dg.DagsterInstance.from_config(str(data / "dagster_home"))
    month = dg.RunsFilter(tags={"mlops/month": "2013-05"})
    retrain = [r for r in instance.get_runs(month) if r.job_name == "retrain"]
    land = [r for r in instance.get_runs(month) if r.job_name == "land_months"]
    result = {
        "drift_to_served_s": float(served[-1]),
        "retrain_work_s": step_seconds(instance, retrain[0].run_id),
        "delivery_to_features_s": float(features.group(1)),
        "land_work_s": step_seconds(instance, land[0].run_id),
    }
    instance.dispose()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="daemon-loop-") as folder:
            try:
                results.append(one_run(Path(folder)))
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                print(f"run {i + 1} failed: {exc}", file=sys.stderr)
                return 1
        print(f"run {i + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in results[-1].items()))
    median = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print(f"\nmedians of {len(results)} runs:")
    for label, seconds, anchor, work in (
        ("drift -> served", "drift_to_served_s", "retrain work", "retrain_work_s"),
        ("delivery -> features", "delivery_to_features_s", "land work", "land_work_s"),
    ):
        ratio = median[seconds] / median[work]
        print(
            f"  {label:<21} {median[seconds]:6.1f} s   {anchor} {median[work]:5.1f} s   "
            f"ratio {ratio:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
