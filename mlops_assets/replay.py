"""Replay 2013 month by month against the running service and watch the loop close:
traffic -> serving profiles -> drift and live quality -> guarded retrain -> gated promotion ->
the service answers with the new version.

    mlops-replay [--start 2013-04] [--end 2013-12] [--flights 2000] [--inject-drift 2013-08]

Each month it sends a deterministic sample of that month's real scheduled flights to a
`bentoml serve` it starts on 127.0.0.1, then evaluates the project's sensors against the
Dagster instance in DAGSTER_HOME (runs show up in `dagster dev`, tagged ``mlops/month``).
Without a production model it first trains one on the months before ``--start``. The feature
store must be built for the replayed months (``make demo`` does that first).
"""

import argparse
import os
import sys
import time
from collections import Counter

import duckdb
import httpx

REPLAY_SEED = 13


def month_after(month: str, n: int = 1) -> str:
    year, m = map(int, month.split("-"))
    index = year * 12 + m - 1 + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def sample_traffic(database: str, month: str, flights: int, inject_drift: bool) -> list[dict]:
    """A fixed sample of the month's scheduled flights as service requests. Injected drift
    replaces the mix with evening departures from Newark only, a shift no seasonal model saw."""
    year, m = map(int, month.split("-"))
    shift = "AND origin = 'EWR' AND sched_dep_hour >= 17" if inject_drift else ""
    with duckdb.connect(database, read_only=True) as conn:
        rows = conn.execute(
            "SELECT carrier, flight_number, origin, dest, tailnum, "
            "strftime(flight_date + to_hours(sched_dep_hour) + to_minutes(sched_dep_minute), "
            "'%Y-%m-%dT%H:%M:00') FROM intermediate.int_flights "
            f"WHERE year = ? AND month = ? {shift} ORDER BY hash(flight_id || ?) LIMIT ?",
            [year, m, str(REPLAY_SEED), flights],
        ).fetchall()
    return [
        {
            "carrier": carrier,
            "flight_number": number,
            "origin": origin,
            "dest": dest,
            "scheduled_departure": departure,
            **({"tailnum": tailnum} if tailnum else {}),
        }
        for carrier, number, origin, dest, tailnum, departure in rows
    ]


def send(url: str, flights: list[dict], chunk: int = 500) -> Counter:
    """POST the flights in chunks; count answers by model version (and errors)."""
    answered: Counter = Counter()
    with httpx.Client(timeout=60) as client:
        for i in range(0, len(flights), chunk):
            response = client.post(f"{url}/predict_many", json={"flights": flights[i : i + chunk]})
            if response.status_code != 200:
                answered[f"HTTP {response.status_code}"] += 1
                continue
            answered.update(f"v{p['model_version']}" for p in response.json()["predictions"])
    return answered


def served_version(url: str, flight: dict) -> int | None:
    try:
        response = httpx.post(f"{url}/predict", json=flight, timeout=10)
        return response.json()["model_version"] if response.status_code == 200 else None
    except httpx.HTTPError:
        return None


def wait_for(predicate, timeout: float, every: float = 0.5) -> float:
    """Seconds until ``predicate()`` holds; TimeoutError after ``timeout``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"not reached after {timeout:.0f} s")
        time.sleep(every)
    return time.monotonic() - started


class Timeline:
    def __init__(self):
        self.started = time.monotonic()

    def __call__(self, month: str, event: str) -> None:
        print(f"[{time.monotonic() - self.started:7.1f} s] {month}  {event}", flush=True)


def _latest(instance, key: str, month: str) -> dict:
    import dagster as dg

    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(dg.AssetKey(key), asset_partitions=[f"{month}-01"]), limit=1
    ).records
    if not records:
        return {}
    return {k: v.value for k, v in records[0].asset_materialization.metadata.items()}


def gate_reason(run) -> str:
    """Why a retrain run did not promote: the promotion gate's verdict, else the first error."""
    import dagster as dg

    for event in run.all_events:
        if event.event_type != dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            continue
        evaluation = event.asset_check_evaluation_data
        if evaluation.check_name == "promotion_gate" and not evaluation.passed:
            return f"promotion gate: {evaluation.description}"
    failures = [e for e in run.all_events if e.is_step_failure]
    if failures:
        error = failures[0].step_failure_data.error
        return f"step {failures[0].step_key} failed: {error.message.strip()[:160] if error else ''}"
    return "no promotion"


def bootstrap(ticks, registry, name: str, start: str, policy, say) -> None:
    """A first production model that knows only the months before the replay starts."""
    test_month = month_after(start, -1)
    train_months = max(1, min(policy.train_months, int(test_month[5:]) - 2))
    say(test_month, f"bootstrap: training on {train_months} month(s) before {test_month}")
    training = {"test_month": test_month, "train_months": train_months}
    result = ticks.run(
        "retrain",
        {"ops": {"training_set": {"config": training}}},
        tags={"mlops/trigger": "bootstrap", "mlops/month": test_month},
    )
    production = registry.production(name)
    if production is None:
        raise SystemExit(f"bootstrap retrain did not promote a model (run {result.run_id})")
    say(
        test_month,
        f"bootstrap: v{production.version} ({production.metadata['framework']}) in production",
    )


def serve_as_of(ticks, month: str | None) -> None:
    """Rebuild the online store with only what was known at the start of ``month`` (None: the
    latest), and give the service time to swap it in; nothing to do if it is already that."""
    as_of = f"{month}-01T00:00:00" if month else None
    import dagster as dg

    last = ticks.instance.get_latest_materialization_event(dg.AssetKey("online_store"))
    if last is not None:
        recorded = last.asset_materialization.metadata.get("as_of")
        if recorded is not None and recorded.value == (as_of or "latest"):
            return
    config = {"ops": {"online_store": {"config": {"as_of": as_of}}}}
    ticks.run(None, config, {"mlops/month": month or "latest"}, assets=["online_store"])
    time.sleep(2.5)  # the service polls the store's CURRENT pointer every second


def replay(ticks, url: str, months: list[str], flights: int, inject: set[str], say):
    """The loop, month by month; returns one summary row per month."""
    from mlops_assets.settings import DUCKDB_DATABASE

    defs, instance = ticks.defs, ticks.instance
    registry = defs.resources["model_registry"].registry()
    name = defs.resources["model_registry"].model_name
    profiles = defs.resources["profiles"].store()
    summary = []
    for month in months:
        serve_as_of(ticks, month)
        traffic = sample_traffic(DUCKDB_DATABASE, month, flights, month in inject)
        target = profiles.served_rows(name, month) + len(traffic)
        answered = send(url, traffic)
        say(
            month,
            f"traffic: {len(traffic):,} flights{' (drift injected)' if month in inject else ''}"
            f" -> {dict(answered)}",
        )
        wait_for(lambda m=month, t=target: profiles.served_rows(name, m) >= t, timeout=60)
        monitor = ticks.tick("new_month_sensor")
        drift, quality = (
            _latest(instance, "serving_drift", month),
            _latest(instance, "live_quality", month),
        )
        say(month, f"drift: {drift.get('status')} - {drift.get('summary')}")
        say(month, f"quality: {quality.get('status')} - {quality.get('summary')}")
        if monitor.deduplicated:
            say(month, f"monitor: {len(monitor.deduplicated)} request(s) already run")
        before = registry.production(name)
        detected = time.monotonic()
        health = ticks.tick("model_health_sensor")
        action = health.skip_reason or ""
        if health.skip_reason:
            say(month, f"health: no retrain - {health.skip_reason}")
        for run in health.launched:
            after = registry.production(name)
            if after and before and after.version != before.version:
                seconds = wait_for(
                    lambda v=after.version, f=traffic[0]: served_version(url, f) == v, 120
                )
                action = f"retrained, v{after.version} promoted"
                say(
                    month,
                    f"retrain: v{after.version} ({after.metadata['framework']}) promoted; "
                    f"the service answers with it {time.monotonic() - detected:.1f} s after "
                    f"the health sensor decided to retrain (swap wait {seconds:.1f} s)",
                )
            else:
                action = f"retrained, not promoted ({gate_reason(run)})"
                say(
                    month,
                    f"retrain: run {run.run_id[:8]} - {gate_reason(run)}; production stays "
                    f"v{before.version if before else '-'}",
                )
        for key in health.deduplicated:
            action = f"retrain already done ({key})"
            say(month, f"health: retrain {key} already ran: not repeated")
        summary.append(
            {
                "month": month,
                "served_by": dict(answered),
                "drift": drift.get("status"),
                "drifted_features": drift.get("drifted_features"),
                "live_auc": quality.get("live_roc_auc"),
                "action": action,
                "production": f"v{registry.production(name).version}",
            }
        )
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2013-04")
    parser.add_argument("--end", default="2013-12")
    parser.add_argument("--flights", type=int, default=2000, help="served flights per month")
    parser.add_argument("--inject-drift", action="append", default=[], metavar="YYYY-MM")
    parser.add_argument("--port", type=int, default=3100)
    parser.add_argument(
        "--cooldown", type=int, default=0, help="seconds between retrains (a year in minutes)"
    )
    args = parser.parse_args()
    os.environ["MLOPS_RETRAIN_COOLDOWN_SECONDS"] = str(args.cooldown)

    import dagster as dg

    from mlops_assets.core.readiness import start_bentoml_serve, wait_until_ready
    from mlops_assets.definitions import defs
    from mlops_assets.sensor_ticks import SensorTicks
    from mlops_assets.settings import DATA_DIR, PROJECT_ROOT

    say = Timeline()
    ticks = SensorTicks(defs, dg.DagsterInstance.get(), log_level="CRITICAL")
    resource = defs.resources["model_registry"]
    registry, name = resource.registry(), resource.model_name
    serve_as_of(ticks, args.start)  # the store the first model's Bento and the service read
    if registry.production(name) is None:
        bootstrap(ticks, registry, name, args.start, defs.resources["monitoring_policy"], say)
    months, month = [], args.start
    while month <= args.end:
        months.append(month)
        month = month_after(month)
    url = f"http://127.0.0.1:{args.port}"
    server = start_bentoml_serve(
        PROJECT_ROOT / "bento",
        args.port,
        env={"MLOPS_PROFILE_SECONDS": "1", "MLOPS_RELOAD_SECONDS": "1"},
        log=DATA_DIR / "replay_service.log",
    )
    try:
        wait_until_ready(f"{url}/readyz", server)
        say(args.start, f"service ready on {url}, serving v{registry.production(name).version}")
        summary = replay(ticks, url, months, args.flights, set(args.inject_drift), say)
    finally:
        serve_as_of(ticks, None)
        server.terminate()
        server.wait(timeout=30)
    print("\nmonth    served by            drift (features)   live AUC  production  action")
    for row in summary:
        auc = f"{row['live_auc']:.4f}" if row["live_auc"] is not None else "-"
        print(
            f"{row['month']}  {str(row['served_by']):<20} {row['drift'] or '-':<6} "
            f"({row['drifted_features'] if row['drifted_features'] is not None else '-'})"
            f"{'':<8} {auc:<9} {row['production']:<11} {row['action'][:90]}"
        )
    promoted = [e for e in registry.events(name) if e.get("stage") == "production"]
    print(f"\nproduction versions over time: {[e.get('version') for e in promoted]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
