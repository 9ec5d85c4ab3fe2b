"""Feedback: logged predictions joined with actual arrivals, giving live AUC and Brier per
day, and a check that fails (ERROR severity, the run stays green) when live AUC falls below the
floor."""

import dagster as dg
import polars as pl

from mlops_assets.assets.features import FEATURE_MART
from mlops_assets.assets.monitoring import MONITORING_GROUP, judged
from mlops_assets.assets.partitions import monthly_partitions
from mlops_assets.core.code_version import code_version
from mlops_assets.core.live_quality import (
    daily_quality,
    overall_quality,
    read_feedback,
    read_prediction_log,
)
from mlops_assets.dataset import problem as problem_contract
from mlops_assets.resources.model_registry import ModelRegistryResource
from mlops_assets.resources.monitoring_policy import MonitoringPolicy
from mlops_assets.resources.profile_store import ProfileStoreResource
from mlops_assets.resources.warehouse import WAREHOUSE_POOL, WarehouseResource
from mlops_assets.settings import DATA_DIR

QUALITY_CHECK = "live_auc_above_floor"


@dg.asset(
    group_name=MONITORING_GROUP,
    partitions_def=monthly_partitions,
    deps=[FEATURE_MART],
    check_specs=[dg.AssetCheckSpec(QUALITY_CHECK, asset="live_quality")],
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    code_version=code_version(__name__, "mlops_assets.core.live_quality"),
)
def live_quality(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    model_registry: ModelRegistryResource,
    monitoring_policy: MonitoringPolicy,
    profiles: ProfileStoreResource,
) -> dg.MaterializeResult:
    """The month's served predictions with their outcomes: from the warehouse's arrivals, or
    from feedback files keyed by request id (data/feedback/<model>/*.csv)."""
    month, name = context.partition_key[:7], model_registry.model_name
    log = read_prediction_log(profiles.blob_store(), name, month)
    feedback = read_feedback(DATA_DIR / "feedback" / name)
    unknown_ids = feedback.join(log, on="request_id", how="anti").height
    if unknown_ids:
        context.log.warning(f"{unknown_ids} feedback rows name request ids never logged: ignored")
    with warehouse.get_connection() as conn:
        conn.register("logged", log.select("flight_id").unique().to_arrow())
        outcomes = pl.from_arrow(
            conn.sql(
                f"SELECT f.{problem_contract.ENTITY_KEY} AS flight_id, "
                f"f.{problem_contract.LABEL} AS is_delayed "
                f"FROM {problem_contract.FEATURE_TABLE} f JOIN logged l "
                f"ON f.{problem_contract.ENTITY_KEY} = l.flight_id"
            ).to_arrow_table()
        )
    labelled = (
        log.join(outcomes, on="flight_id", how="left")
        .join(feedback.rename({"is_delayed": "reported"}), on="request_id", how="left")
        .with_columns(pl.coalesce("is_delayed", "reported").alias("is_delayed"))
        .filter(pl.col("is_delayed").is_not_null())
        # flight_id starts with the local flight date (see dataset.problem.flight_key)
        .with_columns(pl.col("flight_id").str.slice(0, 10).str.to_date().alias("flight_date"))
    )
    overall = overall_quality(labelled)
    days = daily_quality(labelled)
    policy = monitoring_policy
    if labelled.height < policy.min_labelled_rows:
        status = "too_few_rows"
        message = (
            f"{labelled.height} labelled predictions for {month} "
            f"(< {policy.min_labelled_rows}): too few to judge live AUC"
        )
    else:
        status = "ok" if overall["roc_auc"] >= policy.auc_floor else "below_floor"
        message = f"live ROC AUC {overall['roc_auc']:.4f} (floor {policy.auc_floor}) for {month}"
    table = "\n".join(
        f"| {d['date']} | {d['rows']:,} | {d['roc_auc']:.4f} | {d['brier']:.4f} | "
        f"{d['delay_rate']:.3f} |"
        for d in days
    )
    return judged(
        QUALITY_CHECK,
        status,
        "below_floor",
        message,
        {
            "logged_predictions": log.height,
            "labelled_rows": labelled.height,
            "unlabelled_rows": log.height - labelled.height,
            "unknown_feedback_ids": unknown_ids,
            "live_roc_auc": overall["roc_auc"],
            "live_brier": overall["brier"],
            "model_versions": dg.MetadataValue.json(
                sorted(log.get_column("model_version").unique().to_list())
            ),
            "per_day": dg.MetadataValue.md(
                "| date | rows | ROC AUC | Brier | delay rate |\n| --- | --- | --- | --- | --- |\n"
                + table
            ),
        },
    )
