"""Monitoring: the reference profile of each training set, and drift, month by month, of served
traffic and of newly arrived rows against the production model's reference, each with a
check; and prediction drift: the served scores (for every task: probability, value, or highest
class probability and predicted class) against the production model's scores on its held-out
months. Drift is an expected outcome, not a fault: the check fails with ERROR severity and the
run stays green; the retrain sensor reads the result. Nothing downstream needs blocking."""

import time

import dagster as dg
import polars as pl

from mlops_assets.assets.features import FEATURE_MART
from mlops_assets.assets.partitions import monthly_partitions
from mlops_assets.assets.promotion import production_model
from mlops_assets.assets.training import PROBLEM, load_training_frame
from mlops_assets.core.code_version import code_version
from mlops_assets.core.monitoring.drift import feature_drift
from mlops_assets.core.monitoring.drift_calibration import (
    CalibrationError,
    calibrate,
    monthly_profiles,
)
from mlops_assets.core.monitoring.profiling import ProfileError, merge, profile_frame
from mlops_assets.core.serving.predictor import load_predictor
from mlops_assets.core.training.data_size import named
from mlops_assets.core.training.reproduce import load_training_set
from mlops_assets.core.training.tasks import score_columns
from mlops_assets.dataset.problem import EVENT_DATE, FEATURE_TABLE
from mlops_assets.dataset.raw_tables import EVENT_TABLE
from mlops_assets.resources.model_registry import ModelRegistryResource
from mlops_assets.resources.monitoring_policy import MonitoringPolicy
from mlops_assets.resources.profile_store import ProfileStoreResource
from mlops_assets.resources.warehouse import WAREHOUSE_POOL, WarehouseResource

MONITORING_GROUP = "monitoring"
RAW_EVENTS = dg.AssetKey(["raw", EVENT_TABLE.name])
DRIFT_CHECK = "drift_within_threshold"
MONITORING_CODE_VERSION = code_version(
    __name__,
    "mlops_assets.core.monitoring.drift",
    "mlops_assets.core.monitoring.drift_calibration",
    "mlops_assets.core.monitoring.profiling",
    "mlops_assets.core.training.tasks",
)
# columns the serving profiles record of each score (tasks.score_fields)
PREDICTION_COLUMNS = {"categorical": ("predicted_class",), "numeric": ("prediction",)}


@dg.asset(group_name=MONITORING_GROUP, kinds={"whylogs"}, code_version=MONITORING_CODE_VERSION)
def reference_profile(
    training_set: dict, model_registry: ModelRegistryResource, profiles: ProfileStoreResource
) -> dg.MaterializeResult:
    """The whylogs profile of the rows a model learns from (the train split): what served
    traffic is compared with. Filed under the training-set hash every model version records,
    with the drift calibration: how far each training month is from the others."""
    frame = load_training_frame(model_registry, training_set)
    train = frame.filter(pl.col("split") == "train")
    started = time.perf_counter()
    months = monthly_profiles(train, EVENT_DATE, (*PROBLEM.categorical, *PROBLEM.numeric))
    store = profiles.store()
    key = store.put_reference(training_set["hash"], merge(list(months.values())))
    calibration = calibrate(months, PROBLEM.categorical, PROBLEM.numeric)
    if calibration is not None:
        store.put_reference_calibration(training_set["hash"], calibration)
    seconds = time.perf_counter() - started
    return dg.MaterializeResult(
        metadata={
            "profile_key": key,
            "training_set_hash": training_set["hash"],
            "dagster/row_count": train.height,
            "calibrated_on": dg.MetadataValue.json(sorted(months) if calibration else []),
            "profiling_rows_per_second": train.height / seconds,
        }
    )


def judged(
    check_name: str, status: str, failing: str, message: str, metadata: dict
) -> dg.MaterializeResult:
    """A monitoring asset's metadata plus its check result. Only the ``failing`` status (real
    drift, live quality past its limit) is an ERROR; a thin window or a missing reference
    warns, so it never asks for a retrain."""
    return dg.MaterializeResult(
        metadata={"status": status, "summary": message, **metadata},
        check_results=[
            dg.AssetCheckResult(
                check_name=check_name,
                passed=status == "ok",
                severity=dg.AssetCheckSeverity.ERROR
                if status == failing
                else dg.AssetCheckSeverity.WARN,
                description=message,
                metadata={"status": status},
            )
        ],
    )


def _outcome(status: str, message: str, metadata: dict) -> dg.MaterializeResult:
    return judged(DRIFT_CHECK, status, "drift", message, metadata)


@dg.asset(
    group_name=MONITORING_GROUP,
    partitions_def=monthly_partitions,
    deps=[reference_profile, production_model],
    check_specs=[dg.AssetCheckSpec(DRIFT_CHECK, asset="serving_drift")],
    kinds={"whylogs"},
    code_version=MONITORING_CODE_VERSION,
)
def serving_drift(
    context: dg.AssetExecutionContext,
    model_registry: ModelRegistryResource,
    profiles: ProfileStoreResource,
    monitoring_policy: MonitoringPolicy,
) -> dg.MaterializeResult:
    """Per-feature drift of the month's served traffic (all replicas' profiles merged) against
    the reference profile of the production model's training set."""
    month = context.partition_key[:7]
    policy = monitoring_policy
    registry, name = model_registry.registry(), model_registry.model_name
    production = registry.production(name)
    if production is None:
        return _outcome("no_production", "no production model: nothing to compare with", {})
    store = profiles.store()
    window = store.serving_window(name, month)
    base = {
        "model_version": production.version,
        "served_rows": window.rows,
        "profile_files": len(window.files),
    }
    if window.unreadable:
        context.log.warning(f"unreadable serving profiles skipped: {window.unreadable}")
        base["unreadable_profiles"] = dg.MetadataValue.json(window.unreadable)
    if window.view is None or window.rows < policy.min_serving_rows:
        return _outcome(
            "too_few_rows",
            f"{window.rows} served rows for {month} "
            f"(< {named('min_serving_rows', policy.min_serving_rows)}): too few to judge drift",
            base,
        )
    predictions = _prediction_drift(context, registry, production, store, window.view, policy)
    return _judge(
        window.view, month, production, store, policy, base, "served traffic", predictions
    )


def prediction_reference(registry, production, store):
    """The profile of the production version's scores on its held-out (validation and test)
    months, built once per version and kept in the profile store."""
    view = store.prediction_reference(production.name, production.version)
    if view is None:
        lineage = production.metadata["lineage"]
        frame = load_training_set(
            registry, lineage["training_set_hash"], lineage.get("training_set_file_sha256")
        )
        held_out = frame.filter(pl.col("split").is_in(["valid", "test"]))
        scores = load_predictor(registry, production).predict_frame(held_out)
        view = profile_frame(pl.DataFrame(score_columns(scores)))
        store.put_prediction_reference(production.name, production.version, view)
    return view


def _prediction_drift(context, registry, production, store, view, policy):
    """Drift of the served scores; None when the serving profiles hold no scores. Never
    fails the asset: a problem is logged and reported instead."""
    if view.get_column("prediction") is None:
        return None
    try:
        reference = prediction_reference(registry, production, store)
    except Exception as exc:  # monitoring degrades to a report, never a failed run
        context.log.warning(f"prediction drift not judged: {exc}")
        return {"error": str(exc)}
    return feature_drift(
        view,
        reference,
        PREDICTION_COLUMNS["categorical"],
        PREDICTION_COLUMNS["numeric"],
        policy.ks_threshold,
        policy.hellinger_threshold,
    )


def _judge(view, month, production, store, policy, base: dict, what: str, predictions=None):
    """Drift of ``view`` against the production model's reference, as asset + check result."""
    training_set_hash = production.metadata["lineage"]["training_set_hash"]
    try:
        reference = store.reference(training_set_hash)
    except ProfileError as exc:
        return _outcome("no_reference", str(exc), base)
    try:
        calibration = store.reference_calibration(training_set_hash)
    except CalibrationError as exc:  # the fixed thresholds still judge; say why
        base = {**base, "calibration_error": str(exc)}
        calibration = None
    thresholds = (
        calibration.thresholds(
            policy.drift_tolerance,
            policy.ks_threshold,
            policy.hellinger_threshold,
            policy.seasonal_drift_features,
        )
        if calibration
        else None
    )
    base = {
        **base,
        "thresholds": f"calibrated on {', '.join(calibration.months)}" if calibration else "fixed",
    }
    report = feature_drift(
        view,
        reference,
        tuple(c for c in PROBLEM.categorical if c not in policy.exclude_features),
        tuple(c for c in PROBLEM.numeric if c not in policy.exclude_features),
        policy.ks_threshold,
        policy.hellinger_threshold,
        thresholds,
    )
    drifted = [f.feature for f in report.drifted]
    extra, scores_drifted = {}, []
    if isinstance(predictions, dict):
        extra["prediction_drift_error"] = predictions["error"]
    elif predictions is not None:
        scores_drifted = [f.feature for f in predictions.drifted]
        extra = {
            "prediction_drifted": dg.MetadataValue.json(scores_drifted),
            "prediction_report": dg.MetadataValue.md(predictions.markdown()),
            **{f"prediction_drift/{f.feature}": f.statistic for f in predictions.features},
        }
    counted = drifted + (scores_drifted if policy.count_prediction_drift else [])
    crossed = len(counted) >= policy.min_drifted_features
    message = (
        f"{len(drifted)} of {len(report.features)} features of {what} drifted in {month} "
        f"against v{production.version}'s training set (fails at {policy.min_drifted_features}): "
        f"{', '.join(drifted[:8]) or 'none'}"
    )
    if predictions is not None and not isinstance(predictions, dict):
        message += f"; scores drifted: {', '.join(scores_drifted) or 'no'}"
    return _outcome(
        "drift" if crossed else "ok",
        message,
        {
            **base,
            "drifted_features": len(drifted),
            "max_statistic": report.max_statistic,
            "drifted": dg.MetadataValue.json(drifted),
            "report": dg.MetadataValue.md(report.markdown()),
            **{f"drift/{f.feature}": f.statistic for f in report.features},
            **extra,
        },
    )


@dg.asset(
    group_name=MONITORING_GROUP,
    partitions_def=monthly_partitions,
    # one run judges a range as one window, so a delivery run may span months
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[FEATURE_MART, RAW_EVENTS, reference_profile, production_model],
    check_specs=[dg.AssetCheckSpec(DRIFT_CHECK, asset="arrival_drift")],
    pool=WAREHOUSE_POOL,
    kinds={"whylogs", "duckdb"},
    code_version=MONITORING_CODE_VERSION,
)
def arrival_drift(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    model_registry: ModelRegistryResource,
    profiles: ProfileStoreResource,
    monitoring_policy: MonitoringPolicy,
) -> dg.MaterializeResult:
    """Drift of a newly arrived month's features (every row of the mart, not only served
    ones) against the production model's reference: the world may move before traffic shows it.
    A range of months (a backfill) is judged as one window."""
    keys = context.partition_key_range
    month = keys.start[:7] if keys.start == keys.end else f"{keys.start[:7]}..{keys.end[:7]}"
    production = model_registry.registry().production(model_registry.model_name)
    if production is None:
        return _outcome("no_production", "no production model: nothing to compare with", {})
    window = context.partition_time_window
    with warehouse.get_connection() as conn:
        frame = pl.from_arrow(
            conn.sql(
                f"SELECT {', '.join((*PROBLEM.categorical, *PROBLEM.numeric))} "
                f"FROM {FEATURE_TABLE} WHERE {EVENT_DATE} >= DATE '{window.start.date()}' "
                f"AND {EVENT_DATE} < DATE '{window.end.date()}'"
            ).to_arrow_table()
        )
    base = {"model_version": production.version, "dagster/row_count": frame.height}
    if frame.height < monitoring_policy.min_serving_rows:
        return _outcome(
            "too_few_rows",
            f"{frame.height} arrived rows in {month} "
            f"(< {named('min_serving_rows', monitoring_policy.min_serving_rows)}): "
            "too few to judge",
            base,
        )
    view = profile_frame(frame)
    return _judge(
        view, month, production, profiles.store(), monitoring_policy, base, "arrived rows"
    )
