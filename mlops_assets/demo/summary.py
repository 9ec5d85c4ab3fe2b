"""The demo's closing summary, read from the instance: per month what the loop did, and the
counts a reviewer asks for (red runs, monitor runs per month, sensor ticks)."""

from collections import Counter

import dagster as dg

from mlops_assets.core.training.tasks import current_task
from mlops_assets.demo.timeline import latest_metadata, launched_by, run_title, sensor_ticks


def _status(instance, key: str, month: str) -> dict:
    latest = latest_metadata(instance, key, month)
    return latest[1] if latest else {}


def print_summary(instance, watcher, registry, name: str, facts: dict[str, dict]) -> None:
    records = watcher.runs()
    runs = [r.dagster_run for r in records]
    live = current_task().live_metrics[0]  # the task's headline live metric (AUC, RMSE, ...)
    header = f"live {live.removeprefix('roc_').upper()}"
    print(f"\nmonth    features  arrival drift  served drift  {header:<8}  retrain")
    for month, fact in facts.items():
        arrival, served, quality = (
            _status(instance, key, month)
            for key in ("arrival_drift", "serving_drift", "live_quality")
        )
        retrains = [
            r for r in runs if r.job_name == "retrain" and r.tags.get("mlops/month") == month
        ]
        outcome = "; ".join(r.tags.get("mlops/outcome", r.status.value)[:70] for r in retrains)
        value = quality.get(f"live_{live}")
        seconds = fact.get("features_seconds")
        print(
            f"{month}  {f'{seconds:.0f} s' if seconds else '-':>8}  "
            f"{arrival.get('status', '-'):<13}  {served.get('status', '-'):<12}  "
            f"{f'{value:.4f}' if value is not None else '-':<8}  {outcome or '-'}"
        )
    by_job = Counter(run_title(r).split(" 20")[0] for r in runs)
    red = [r for r in runs if r.status == dg.DagsterRunStatus.FAILURE]
    monitors = Counter(r.tags.get("mlops/month") for r in runs if r.job_name == "monitor")
    print(f"\nruns launched by the daemon: {len(runs)} ({dict(by_job)})")
    print(f"launched by: {dict(Counter(launched_by(r) for r in runs))}")
    print(f"red runs: {len(red)}" + "".join(f"\n  {r.run_id[:8]} {run_title(r)}" for r in red))
    print(f"monitor runs per month: {dict(sorted(monitors.items()))}")
    for sensor, ticks in sorted(sensor_ticks(instance, watcher.started).items()):
        print(f"sensor {sensor}: {dict(Counter(t.status.value for t in ticks))} ticks")
    served = {m: f.get("drift_to_served_seconds") for m, f in facts.items()}
    for month, seconds in served.items():
        if seconds is not None:
            print(f"{month}: drift check -> service answers with the new model: {seconds:.0f} s")
    promoted = [e.get("version") for e in registry.events(name) if e.get("stage") == "production"]
    print(f"production versions over time: {promoted}")
