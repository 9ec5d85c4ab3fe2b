"""Feedback: logged predictions joined with actual outcomes, giving the task's live quality per
day (binary: AUC and Brier; regression: RMSE and MAE; multiclass: accuracy and macro-F1), and a
check that fails (ERROR severity, the run stays green) when it crosses the monitoring policy's
limit for the task."""

import dagster as dg
import polars as pl

from mlops_assets.assets.features import FEATURE_MART
from mlops_assets.assets.monitoring import MONITORING_GROUP, judged
from mlops_assets.assets.partitions import monthly_partitions
from mlops_assets.core.code_version import code_version
from mlops_assets.core.monitoring.live_quality import (
    daily_quality,
    overall_quality,
    read_feedback,
    read_prediction_log,
)
from mlops_assets.core.training.data_size import named
from mlops_assets.core.training.tasks import current_task
from mlops_assets.dataset import problem as problem_contract
from mlops_assets.resources.model_registry import ModelRegistryResource
from mlops_assets.resources.monitoring_policy import MonitoringPolicy
from mlops_assets.resources.profile_store import ProfileStoreResource
from mlops_assets.resources.warehouse import WAREHOUSE_POOL, WarehouseResource
from mlops_assets.settings import DATA_DIR

# judges the task's live metric against its floor or ceiling (MonitoringPolicy.live_quality_limit)
QUALITY_CHECK = "live_quality_within_limit"


@dg.asset(
    group_name=MONITORING_GROUP,
    partitions_def=monthly_partitions,
    deps=[FEATURE_MART],
    check_specs=[dg.AssetCheckSpec(QUALITY_CHECK, asset="live_quality")],
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    code_version=code_version(
        __name__, "mlops_assets.core.monitoring.live_quality", "mlops_assets.core.training.tasks"
    ),
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
    production = model_registry.registry().production(name)
    # the production version's task (multiclass: its classes), else the contract's
    task = current_task(production.metadata if production else None)
    label = problem_contract.LABEL
    log = read_prediction_log(profiles.blob_store(), name, month)
    feedback = read_feedback(DATA_DIR / "feedback" / name, label, task.label_dtype)
    unknown_ids = feedback.join(log, on="request_id", how="anti").height
    if unknown_ids:
        context.log.warning(f"{unknown_ids} feedback rows name request ids never logged: ignored")
    key = problem_contract.ENTITY_KEY
    with warehouse.get_connection() as conn:
        conn.register("logged", log.select("entity_id").unique().to_arrow())
        outcomes = pl.from_arrow(
            conn.sql(
                f"SELECT CAST(f.{key} AS VARCHAR) AS entity_id, f.{label} AS {label}, "
                f"CAST(f.{problem_contract.EVENT_DATE} AS DATE) AS event_date "
                f"FROM {problem_contract.FEATURE_TABLE} f JOIN logged l "
                f"ON CAST(f.{key} AS VARCHAR) = l.entity_id"
            ).to_arrow_table()
        )
    labelled = (
        log.join(outcomes, on="entity_id", how="left")
        .join(feedback.rename({label: "reported"}), on="request_id", how="left")
        .with_columns(pl.coalesce(pl.col(label).cast(task.label_dtype), "reported").alias(label))
        .filter(pl.col(label).is_not_null())
        # rows known only from feedback: an entity id that starts with its date (flights' do,
        # see dataset.problem.flight_key), else the first day of the month
        .with_columns(
            pl.coalesce(
                "event_date",
                pl.col("entity_id").str.slice(0, 10).str.to_date(strict=False),
                pl.lit(f"{month}-01").str.to_date(),
            ).alias("event_date")
        )
    )
    overall = overall_quality(labelled, task, label)
    days = daily_quality(labelled, task, label)
    policy = monitoring_policy
    limit = policy.live_quality_limit(task, production.metadata if production else None)
    if labelled.height < policy.min_labelled_rows:
        status = "too_few_rows"
        message = (
            f"{labelled.height} labelled predictions for {month} "
            f"(< {named('min_labelled_rows', policy.min_labelled_rows)}): too few to judge "
            f"live {limit.metric}"
        )
    else:
        status = "ok" if limit.holds(overall[limit.metric]) else "past_limit"
        message = f"live {limit.metric} {overall[limit.metric]:.4f} ({limit}) for {month}"
    metrics = [*task.live_metrics, "label_rate" if task.kind == "binary" else "mean_label"]
    metrics = [m for m in metrics if not days or m in days[0]]
    table = "\n".join(
        f"| {d['date']} | {d['rows']:,} | " + " | ".join(f"{d[m]:.4f}" for m in metrics) + " |"
        for d in days
    )
    return judged(
        QUALITY_CHECK,
        status,
        "past_limit",
        message,
        {
            "logged_predictions": log.height,
            "labelled_rows": labelled.height,
            "unlabelled_rows": log.height - labelled.height,
            "unknown_feedback_ids": unknown_ids,
            "task_type": task.kind,
            "quality_metric": limit.metric,
            "quality_limit": limit.value,
            **{f"live_{m}": overall[m] for m in task.live_metrics},
            "model_versions": dg.MetadataValue.json(
                sorted(log.get_column("model_version").drop_nulls().unique().to_list())
            ),
            "per_day": dg.MetadataValue.md(
                "| date | rows | "
                + " | ".join(metrics)
                + " |\n"
                + "| --- " * (len(metrics) + 2)
                + "|\n"
                + table
            ),
        },
    )
