"""The sensors that close the loop. They read the Dagster instance, the profile store and the
registry, and request runs; they never run asset code.

- ``new_month_sensor``: a month of served traffic has new serving profiles -> run ``monitor``
  (drift + live quality) for that month.
- ``arrival_drift`` needs no sensor: declarative automation materializes it when a new month
  lands in the feature store (``feature_store_automation`` evaluates its condition).
- ``model_health_sensor``: a drift or live-quality check crossed its threshold -> run
  ``retrain`` (training -> evaluation -> gated promotion -> reference profile -> Bento) for the
  stale model, under the guardrails of ``MonitoringPolicy`` (cooldown, new labelled rows,
  one retrain per month and raw data version).
"""

import hashlib
import json
import time

import dagster as dg

from mlops_assets.core.retrain_decision import Finding, decide_retrain
from mlops_assets.dataset.raw_tables import EVENT_TABLE, MONTHLY_TABLES
from mlops_assets.jobs import monitor_job, retrain_job
from mlops_assets.resources.model_registry import ModelRegistryResource
from mlops_assets.resources.monitoring_policy import MonitoringPolicy
from mlops_assets.resources.profile_store import ProfileStoreResource

MONITORED = tuple(dg.AssetKey(k) for k in ("serving_drift", "arrival_drift", "live_quality"))
RAW_EVENTS = dg.AssetKey(["raw", EVENT_TABLE.name])
RAW_MONTHLY = tuple(dg.AssetKey(["raw", table.name]) for table in MONTHLY_TABLES)


@dg.sensor(
    job=monitor_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="New serving profiles for a month -> drift and live quality for that month.",
)
def new_month_sensor(
    context: dg.SensorEvaluationContext,
    model_registry: ModelRegistryResource,
    profiles: ProfileStoreResource,
):
    name = model_registry.model_name
    months = profiles.store().serving_months(name)
    seen = json.loads(context.cursor) if context.cursor else {}
    requests = []
    for month, keys in months.items():
        if seen.get(month) == keys[-1]:
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"monitor:{name}:{month}:{len(keys)}:{keys[-1].rsplit('/', 1)[-1]}",
                partition_key=f"{month}-01",
                tags={"mlops/model": name, "mlops/month": month},
            )
        )
        seen[month] = keys[-1]
    if not requests:
        return dg.SkipReason(f"no new serving profiles for {name}")
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen))


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


@dg.sensor(
    job=retrain_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Drift or live quality past its threshold -> retrain, deduplicated by month and "
    "raw data version, after a cooldown and enough new labelled rows; promotion stays "
    "behind the gate.",
)
def model_health_sensor(
    context: dg.SensorEvaluationContext,
    model_registry: ModelRegistryResource,
    monitoring_policy: MonitoringPolicy,
):
    cursor = json.loads(context.cursor) if context.cursor else {"after": 0, "requested_at": None}
    instance, policy, name = context.instance, monitoring_policy, model_registry.model_name
    findings, newest = [], cursor["after"]
    for key in MONITORED:
        for partition, latest in _latest_by_partition(instance, key).items():
            newest = max(newest, latest["storage_id"])
            if latest["storage_id"] > cursor["after"]:
                findings.append(
                    Finding(partition[:7], key.to_user_string(), latest["metadata"].get("status"))
                )
    production = model_registry.registry().production(name)
    test_month = production.metadata["lineage"]["split"]["test_month"] if production else None
    raw_rows = {
        partition[:7]: int(latest["metadata"].get("dagster/row_count", 0))
        for partition, latest in _latest_by_partition(instance, RAW_EVENTS).items()
    }
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
    data_version = raw_data_version(instance)
    context.update_cursor(json.dumps({"after": newest, "requested_at": time.time()}))
    return dg.RunRequest(
        # The same month on the same raw data is retrained once, however often replayed or
        # rebuilt.
        run_key=f"retrain:{name}:{decision.month}:{data_version}",
        run_config={
            "ops": {
                "training_set": {
                    "config": {"test_month": decision.month, "train_months": policy.train_months}
                }
            }
        },
        tags={
            "mlops/model": name,
            "mlops/trigger": decision.trigger,
            "mlops/month": decision.month,
            "mlops/reason": decision.reason[:200],
        },
    )
