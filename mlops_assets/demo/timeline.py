"""The demo's timeline, read from the Dagster instance: the runs the daemon launched, what
they materialized and what their checks said. The same facts the UI shows, one line each."""

import time
from dataclasses import dataclass, field

import dagster as dg

# The instance's own types for sensor state and ticks (dagster does not re-export them).
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.scheduler.instigation import TickStatus

from mlops_assets.dataset.raw_tables import EVENT_TABLE

IN_FLIGHT = {
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
}
EVENTS = {dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_CHECK_EVALUATION}


def sensor_ticks(instance: dg.DagsterInstance, after: float) -> dict[str, list]:
    """Sensor name -> its finished ticks since ``after`` (the daemon's record of its work)."""
    ticks = {}
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        found = instance.get_ticks(state.instigator_origin_id, state.selector_id, after=after)
        ticks[state.instigator_name] = [t for t in found if t.status != TickStatus.STARTED]
    return ticks


def latest_metadata(instance: dg.DagsterInstance, key: str, month: str | None = None):
    """(timestamp, metadata) of an asset's latest materialization (of a month's partition);
    None when it has none."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            dg.AssetKey.from_user_string(key),
            asset_partitions=[f"{month}-01"] if month else None,
        ),
        limit=1,
    ).records
    if not records:
        return None
    metadata = records[0].asset_materialization.metadata
    return records[0].timestamp, {k: v.value for k, v in metadata.items()}


def launched_by(run: dg.DagsterRun) -> str:
    tags = run.tags
    if "dagster/sensor_name" in tags:
        return tags["dagster/sensor_name"]
    if any(k.startswith("dagster/auto") or "automation" in k for k in tags):
        return "automation"
    return "by hand"


def run_title(run: dg.DagsterRun) -> str:
    """What a run is about: its job, or the assets an automation run updates."""
    month = run.tags.get("mlops/month") or run.tags.get("dagster/partition", "")[:7]
    if run.job_name != "__ASSET_JOB":
        return f"{run.job_name} {month}".strip()
    keys = {k.to_user_string() for k in run.asset_selection or ()}
    if "arrival_drift" in keys:
        return f"arrival_drift {month}".strip()
    if any(k.startswith("marts/") or k.startswith("staging/") for k in keys):
        return "feature store update" + (" + online store" if "online_store" in keys else "")
    return ", ".join(sorted(keys)[:3]) or "assets"


def _materializations(instance, run_id: str) -> dict[str, dict]:
    found = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        materialization = entry.asset_materialization
        found[materialization.asset_key.to_user_string()] = {
            k: v.value for k, v in materialization.metadata.items()
        }
    return found


def _checks(instance, run_id: str) -> list:
    return [
        entry.dagster_event.asset_check_evaluation_data
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    ]


def user_error(error) -> str:
    """The innermost message of a step's error: the project's own (e.g. the RawDataError that
    names a changed column), not Dagster's wrapper around it."""
    while error is not None and error.cause is not None:
        error = error.cause
    return error.message.strip() if error else ""


def run_outcome(instance, run: dg.DagsterRun) -> str:
    """One line on what a finished run did, from its events (the run page's facts)."""
    if run.status != dg.DagsterRunStatus.SUCCESS:
        for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
            message = user_error(entry.dagster_event.step_failure_data.error)
            return f"{run.status.value}: {entry.step_key}: {message[:200]}"
        return run.status.value
    done = _materializations(instance, run.run_id)
    parts = []
    if run.job_name == "land_months":
        rows = done.get(f"raw/{EVENT_TABLE.name}", {}).get("rows_by_month") or {}
        parts.append(
            "loaded " + ", ".join(f"{m}: {n:,} {EVENT_TABLE.name}" for m, n in rows.items())
        )
    if run.job_name == "retrain":
        outcome = run.tags.get("mlops/outcome") or _refreshed(instance, run.run_id)
        bento = done.get("bento", {}).get("bento_tag")
        return outcome + (f"; Bento {bento}" if bento else "")
    for key in ("arrival_drift", "serving_drift", "live_quality", "serving_skew"):
        if key in done:
            parts.append(f"{key}: {done[key].get('status')} - {done[key].get('summary')}")
    if "online_store" in done:
        store = done["online_store"]
        added = ", ".join(
            f"+{n:,} {k.removeprefix('added_')}" for k, n in store.items() if k.startswith("added_")
        )
        parts.append(f"online store {store.get('mode')} ({added or 'nothing appended'})")
    if any(k.startswith("marts/") for k in done):
        models = sum(1 for k in done if "/" in k and not k.startswith("raw/"))
        parts.insert(len(parts) and 1, f"{models} dbt models rebuilt")
    return "; ".join(parts) or f"{len(done)} asset(s) materialized"


def _refreshed(instance, run_id: str) -> str:
    checks = [c for c in _checks(instance, run_id) if c.check_name == "promotion_gate"]
    return checks[0].description if checks else "no promotion decision"


@dataclass
class Watcher:
    """Prints each run of the instance as it starts and ends, relative to the demo's start."""

    instance: dg.DagsterInstance
    started: float = field(default_factory=time.time)
    seen: dict[str, str] = field(default_factory=dict)  # run id -> "started" | "done"
    printer: object = print

    def say(self, what: str) -> None:
        self.printer(f"[{time.time() - self.started:6.1f} s] {what}")

    def runs(self) -> list[dg.RunRecord]:
        """Every run created since the demo started, oldest first."""
        records = self.instance.get_run_records(
            filters=dg.RunsFilter(created_after=_utc(self.started - 1)), limit=500
        )
        return sorted(records, key=lambda r: r.create_timestamp)

    def poll(self) -> list[dg.DagsterRun]:
        """Report what changed since the last poll; returns the runs still in flight."""
        in_flight = []
        for record in self.runs():
            run, state = record.dagster_run, self.seen.get(record.dagster_run.run_id)
            if run.status in IN_FLIGHT:
                in_flight.append(run)
                if state is None and run.status != dg.DagsterRunStatus.QUEUED:
                    self.say(f" > {run_title(run)}  ({launched_by(run)}, run {run.run_id[:8]})")
                    self.seen[run.run_id] = "started"
            elif state != "done":
                took = (record.end_time or 0) - (record.start_time or record.end_time or 0)
                mark = "ok" if run.status == dg.DagsterRunStatus.SUCCESS else "FAILED"
                self.say(
                    f"{mark:>2} {run_title(run)} ({took:.0f} s): {run_outcome(self.instance, run)}"
                )
                self.seen[run.run_id] = "done"
        return in_flight


def _utc(seconds: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, tz=UTC)
