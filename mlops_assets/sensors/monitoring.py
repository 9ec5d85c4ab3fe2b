"""The sensors that close the loop. They read the Dagster instance, the profile store and the
registry, and request runs; they never run asset code.

- ``served_traffic_sensor``: enough new served rows for a month -> run ``monitor`` (drift +
  live quality) for that month.
- ``raw_delivery_sensor`` (``sensors/delivery.py``): a delivered month -> one run that loads
  it, updates the feature store and judges its arrivals (``arrival_drift``).
- ``model_health_sensor``: no production model yet and enough landed months (cold start), or a
  drift or live-quality check crossed its threshold -> run ``retrain`` (training -> evaluation
  -> gated promotion -> reference profile -> Bento) for the stale model, under the guardrails
  of ``MonitoringPolicy`` (cooldown, new labelled rows, one retrain per month and raw data
  version).
"""

import hashlib
import json
import time
from pathlib import Path

import dagster as dg

from mlops_assets.assets.features import FEATURE_MART
from mlops_assets.core.monitoring.retrain_decision import Finding, decide_retrain
from mlops_assets.dataset.raw_tables import EVENT_TABLE, MONTHLY_TABLES
from mlops_assets.jobs import monitor_job, retrain_job
from mlops_assets.resources.model_registry import ModelRegistryResource
from mlops_assets.resources.monitoring_policy import MonitoringPolicy
from mlops_assets.resources.profile_store import ProfileStoreResource
from mlops_assets.resources.raw_files import RawFilesResource
from mlops_assets.sensors.delivery import loads_pending

MONITORED = tuple(dg.AssetKey(k) for k in ("serving_drift", "arrival_drift", "live_quality"))
RAW_EVENTS = dg.AssetKey(["raw", EVENT_TABLE.name])
RAW_MONTHLY = tuple(dg.AssetKey(["raw", table.name]) for table in MONTHLY_TABLES)


def monitor_due(
    seen: dict | None, rows: int, newest_flush: float, now: float, policy: MonitoringPolicy
) -> bool:
    """A month is judged again after ``monitor_every_rows`` new rows once a burst has settled,
    or after ``monitor_interval_seconds`` with any new rows (a trickle): a handful of runs per
    month, not one per profile file."""
    if seen is None:
        return rows >= policy.monitor_every_rows and now - newest_flush >= (
            policy.monitor_settle_seconds
        )
    new = rows - seen["rows"]
    if new <= 0:
        return False
    settled = now - newest_flush >= policy.monitor_settle_seconds
    return (new >= policy.monitor_every_rows and settled) or (
        now - seen["at"] >= policy.monitor_interval_seconds
    )


@dg.sensor(
    job=monitor_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=3,
    description="Enough newly served rows for a month (or a trickle for long enough) -> drift "
    "and live quality for that month.",
)
def served_traffic_sensor(
    context: dg.SensorEvaluationContext,
    model_registry: ModelRegistryResource,
    profiles: ProfileStoreResource,
    monitoring_policy: MonitoringPolicy,
):
    name = model_registry.model_name
    seen = json.loads(context.cursor) if context.cursor else {}
    now = time.time()
    requests = []
    for month, (rows, newest_flush) in profiles.store().serving_activity(name).items():
        state = seen.get(month)
        if state is None and rows < monitoring_policy.monitor_every_rows:
            seen[month] = {"rows": 0, "at": now}  # a trickle: judged after the interval
            continue
        if not monitor_due(state, rows, newest_flush, now, monitoring_policy):
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"monitor:{name}:{month}:{rows}",
                partition_key=f"{month}-01",
                tags={"mlops/model": name, "mlops/month": month, "mlops/served_rows": str(rows)},
            )
        )
        seen[month] = {"rows": rows, "at": now}
    context.update_cursor(json.dumps(seen))
    if not requests:
        return dg.SkipReason(f"no month of {name} has enough newly served rows")
    return requests


def _latest_by_partition(instance, key: dg.AssetKey, limit: int = 500) -> dict[str, dict]:
    """Partition -> (storage id, metadata) of its latest materialization."""
    latest: dict[str, dict] = {}
    for record in instance.fetch_materializations(key, limit=limit).records:
        materialization = record.asset_materialization
        if materialization and materialization.partition not in latest:
            latest[materialization.partition] = {
                "storage_id": record.storage_id,
                "metadata": {k: v.value for k, v in materialization.metadata.items()},
                "data_version": (materialization.tags or {}).get("dagster/data_version"),
            }
    return latest


def raw_data_version(instance) -> str:
    """One fingerprint of the raw months' content hashes (their DataVersions): unchanged when
    the feature store is merely rebuilt from the same data."""
    parts = sorted(
        f"{key.to_user_string()}:{partition}:{latest['data_version']}"
        for key in RAW_MONTHLY
        for partition, latest in _latest_by_partition(instance, key).items()
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _month_rows(partition: str, latest: dict) -> int:
    """A raw partition's rows (a ranged load records every month's count in one mapping)."""
    by_month = latest["metadata"].get("rows_by_month") or {}
    return int(by_month.get(partition[:7], latest["metadata"].get("dagster/row_count", 0)))


def features_lag(instance) -> str | None:
    """Why the feature store is behind the landed raw data, or None when it is current."""
    mart = instance.fetch_materializations(FEATURE_MART, limit=1).records
    raw = instance.fetch_materializations(RAW_EVENTS, limit=1).records
    if not raw:
        return "no raw data has landed"
    if not mart or mart[0].storage_id < raw[0].storage_id:
        return "the feature store has not caught up with the latest landed month yet"
    return None


def _retrain_request(name: str, month: str, train_months: int, trigger: str, reason: str, data):
    return dg.RunRequest(
        # The same month on the same raw data is retrained once, however often replayed or
        # rebuilt.
        run_key=f"retrain:{name}:{month}:{data}",
        run_config={
            "ops": {"training_set": {"config": {"test_month": month, "train_months": train_months}}}
        },
        tags={
            "mlops/model": name,
            "mlops/trigger": trigger,
            "mlops/month": month,
            "mlops/reason": reason[:200],
        },
    )


@dg.sensor(
    job=retrain_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=3,
    description="No production model yet (cold start), or drift or live quality past its "
    "threshold -> retrain, deduplicated by month and raw data version, after a cooldown and "
    "enough new labelled rows; promotion stays behind the gate.",
)
def model_health_sensor(
    context: dg.SensorEvaluationContext,
    model_registry: ModelRegistryResource,
    monitoring_policy: MonitoringPolicy,
    raw_files: RawFilesResource,
):
    cursor = json.loads(context.cursor) if context.cursor else {"after": 0, "requested_at": None}
    instance, policy, name = context.instance, monitoring_policy, model_registry.model_name
    lag = features_lag(instance) or loads_pending(instance, Path(raw_files.landing_dir))
    if lag:
        return dg.SkipReason(f"waiting: {lag}")
    raw_rows = {
        partition[:7]: _month_rows(partition, latest)
        for partition, latest in _latest_by_partition(instance, RAW_EVENTS).items()
    }
    production = model_registry.registry().production(name)
    if production is None:
        # Cold start: train, validate and test on the months landed so far.
        landed = sorted(raw_rows)
        if len(landed) < 3:
            return dg.SkipReason(f"no production model; {len(landed)} month(s) landed (< 3)")
        month = landed[-1]
        reason = f"no production model: first training, tested on {month}"
        train_months = min(policy.train_months, len(landed) - 2)
        return _retrain_request(
            name, month, train_months, "cold start", reason, raw_data_version(instance)
        )
    findings, newest = [], cursor["after"]
    for key in MONITORED:
        for partition, latest in _latest_by_partition(instance, key).items():
            newest = max(newest, latest["storage_id"])
            if latest["storage_id"] > cursor["after"]:
                findings.append(
                    Finding(partition[:7], key.to_user_string(), latest["metadata"].get("status"))
                )
    test_month = production.metadata["lineage"]["split"]["test_month"]
    requested_at = cursor.get("requested_at")
    decision = decide_retrain(
        findings,
        test_month,
        raw_rows,
        time.time() - requested_at if requested_at else None,
        policy.retrain_cooldown_seconds,
        policy.min_new_labelled_rows,
    )
    if not decision.retrain:
        # Findings already judged are not judged again: a cooldown skip waits for new evidence.
        context.update_cursor(json.dumps({**cursor, "after": newest}))
        return dg.SkipReason(decision.reason)
    context.update_cursor(json.dumps({"after": newest, "requested_at": time.time()}))
    return _retrain_request(
        name,
        decision.month,
        policy.train_months,
        decision.trigger,
        decision.reason,
        raw_data_version(instance),
    )
