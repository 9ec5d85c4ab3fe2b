"""``raw_delivery_sensor``: files landing in the landing folder become runs of ``land_months``
that load those months, update the feature store and the online store, and judge the month.

The instance is the record of what was loaded: each load run carries the fingerprints of the
files it read (tag ``mlops/delivery``), so a re-delivery of the same files does nothing, a
changed file loads its month again, and the order rules live in ``core/ingestion/deliveries.py``.
"""

import functools
import hashlib
from pathlib import Path

import dagster as dg

from mlops_assets.assets.features import DBT_GROUPS, reference_dbt_assets
from mlops_assets.core.ingestion.deliveries import FAILED, LOADED, LOADING, Attempt, plan_deliveries
from mlops_assets.dataset.raw_tables import MONTHLY_TABLES
from mlops_assets.jobs import MONTHLY_RAW, STATIC_RAW, land_months_job
from mlops_assets.resources.model_registry import ModelRegistryResource
from mlops_assets.resources.raw_files import RawFilesResource

DELIVERY_TAG = "mlops/delivery"
TABLES = tuple(table.name for table in MONTHLY_TABLES)
# built with the first delivery (and whenever missing); the rest of the feature store with each
REFERENCE_MODELS = list(reference_dbt_assets.keys)
# Reference models that read a monthly raw table (a fork's plain staging view of its monthly
# source, with no `monthly` tag) are rebuilt with each delivery: a run orders only the assets it
# selects, so without them the marts could be built before the month is loaded.
READ_MONTHS = [
    k for k, deps in reference_dbt_assets.asset_deps.items() if set(deps) & {*MONTHLY_RAW}
]
FEATURE_STORE = [key for key in DBT_GROUPS if key not in REFERENCE_MODELS or key in READ_MONTHS]
ONLINE_STORE, ARRIVAL_DRIFT = dg.AssetKey("online_store"), dg.AssetKey("arrival_drift")


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    return _content_hash(str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _content_hash(path: str, inode: int, size: int, mtime_ns: int) -> str:
    """Hashed once per version of a file: the delivery and health sensors both read every
    landed file every few seconds; a delivery renames a new file into place (new inode)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def delivered_files(landing: Path) -> dict[str, dict[str, str]]:
    """Month -> table -> fingerprint of every ``<table>/<YYYY-MM>.csv`` in the landing folder."""
    files: dict[str, dict[str, str]] = {}
    for table in TABLES:
        for path in sorted((landing / table).glob("[0-9][0-9][0-9][0-9]-[0-9][0-9].csv")):
            files.setdefault(path.stem, {})[table] = _fingerprint(path)
    return files


def _state(run: dg.DagsterRun) -> str:
    if run.status == dg.DagsterRunStatus.SUCCESS:
        return LOADED
    return FAILED if run.is_finished else LOADING


def latest_attempts(instance: dg.DagsterInstance) -> dict[str, Attempt]:
    """Month -> its latest load run, from the runs' delivery tags (newest run first)."""
    attempts: dict[str, Attempt] = {}
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=land_months_job.name), limit=500)
    for run in runs:
        for item in filter(None, run.tags.get(DELIVERY_TAG, "").split(";")):
            month, fingerprint = item.split("=", 1)
            attempts.setdefault(month, Attempt(fingerprint, _state(run), run.run_id))
    return attempts


def load_run_key(delivery: str, previous: list[Attempt]) -> str:
    """One load per delivery and state of the warehouse: the same files seen again by the
    next tick ask for the same run (Dagster launches a run key once), while files that come
    back after a correction (A, then B, then A again) follow another load and get a new key."""
    after = ";".join(attempt.run_id for attempt in previous)
    tag = hashlib.sha256(after.encode()).hexdigest()[:8] if after else "first"
    return f"land:{delivery}:after:{tag}"


def loads_pending(instance: dg.DagsterInstance, landing: Path) -> str | None:
    """Why delivered data is not in the warehouse yet (a load running, or a delivered month the
    sensor will load next), or None. Training waits for it: a model started a tick too early
    would learn from part of what was delivered together."""
    attempts = latest_attempts(instance)
    loading = sorted(m for m, attempt in attempts.items() if attempt.state == LOADING)
    if loading:
        return f"{', '.join(loading)} loading"
    plan = plan_deliveries(delivered_files(landing), TABLES, attempts)
    due = [m for first, last in plan.loads for m in plan.fingerprints if first <= m <= last]
    return f"{', '.join(sorted(set(due)))} delivered, not loaded yet" if due else None


@dg.sensor(
    job=land_months_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=3,
    description="Months delivered to the landing folder -> load them, in calendar order.",
)
def raw_delivery_sensor(
    context: dg.SensorEvaluationContext,
    raw_files: RawFilesResource,
    model_registry: ModelRegistryResource,
):
    files = delivered_files(Path(raw_files.landing_dir))
    if not files:
        return dg.SkipReason(f"nothing delivered to {raw_files.landing_dir}")
    attempts = latest_attempts(context.instance)
    plan = plan_deliveries(files, TABLES, attempts)
    for month, why in plan.waiting.items():
        context.log.warning(f"delivery {month} not loaded: {why}")
    # Reference data rides along with the first delivery: the first feature build joins it.
    reference = [*STATIC_RAW, *REFERENCE_MODELS]
    missing = [k for k in reference if context.instance.get_latest_materialization_event(k) is None]
    production = model_registry.registry().production(model_registry.model_name)
    learnt = production.metadata["lineage"]["split"]["test_month"] if production else None
    requests = []
    for first, last in plan.loads:
        months = [m for m in plan.fingerprints if first <= m <= last]
        delivery = ";".join(f"{m}={plan.fingerprints[m]}" for m in months)
        # A single new month is judged against production in the same run (nothing to judge
        # without a production model, or for months it has already learnt from).
        judge = first == last and learnt is not None and first > learnt
        requests.append(
            dg.RunRequest(
                run_key=load_run_key(delivery, [attempts[m] for m in months if m in attempts]),
                job_name=land_months_job.name,
                asset_selection=[
                    *MONTHLY_RAW,
                    *(missing if not requests else []),
                    *FEATURE_STORE,
                    ONLINE_STORE,
                    *([ARRIVAL_DRIFT] if judge else []),
                ],
                tags={
                    DELIVERY_TAG: delivery,
                    "mlops/month": last,
                    "dagster/asset_partition_range_start": f"{first}-01",
                    "dagster/asset_partition_range_end": f"{last}-01",
                },
            )
        )
    if not requests:
        waiting = "; ".join(f"{m} {why}" for m, why in plan.waiting.items())
        return dg.SkipReason(f"every delivered month is loaded{'; ' + waiting if waiting else ''}")
    return requests
