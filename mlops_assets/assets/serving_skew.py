"""Training-serving skew, month by month: the features the service computes for the month's
logged requests, compared feature by feature with the mart's rows for the same entities (what
the model learnt from). The serving declaration (``dataset/serving.py``) and the dbt mart are
written separately; this check is what says they agree, for any dataset. A difference is a bug
in one of them: the check fails with ERROR severity (the run stays green, nothing retrains)
and names the features, with the first differing values."""

import dagster as dg
import polars as pl

from mlops_assets.assets.features import FEATURE_MART
from mlops_assets.assets.monitoring import MONITORING_GROUP, judged
from mlops_assets.assets.partitions import monthly_partitions
from mlops_assets.assets.serving import online_store
from mlops_assets.core.code_version import code_version
from mlops_assets.core.features.online_features import OnlineFeatures, UnknownEntityError
from mlops_assets.core.monitoring.live_quality import read_prediction_log
from mlops_assets.core.monitoring.serving_skew import (
    feature_differences,
    first_differences,
    logged_requests,
)
from mlops_assets.dataset import problem
from mlops_assets.resources.model_registry import ModelRegistryResource
from mlops_assets.resources.monitoring_policy import MonitoringPolicy
from mlops_assets.resources.online_store import OnlineStoreResource
from mlops_assets.resources.profile_store import ProfileStoreResource
from mlops_assets.resources.warehouse import WAREHOUSE_POOL, WarehouseResource

SKEW_CHECK = "served_features_match_mart"


def _served(features: OnlineFeatures, requests: list[dict]) -> tuple[list[dict], list[dict], int]:
    """Requests the store still answers, their feature rows, and how many it now refuses."""
    try:
        return requests, features.rows(requests), 0
    except UnknownEntityError:  # one at a time, keeping those it answers
        kept, rows = [], []
        for request in requests:
            try:
                rows.append(features.row(request))
                kept.append(request)
            except UnknownEntityError:
                pass
        return kept, rows, len(requests) - len(kept)


@dg.asset(
    group_name=MONITORING_GROUP,
    partitions_def=monthly_partitions,
    deps=[FEATURE_MART, online_store],
    check_specs=[dg.AssetCheckSpec(SKEW_CHECK, asset="serving_skew")],
    pool=WAREHOUSE_POOL,
    kinds={"duckdb", "sqlite"},
    code_version=code_version(
        __name__,
        "mlops_assets.core.monitoring.serving_skew",
        "mlops_assets.core.features.online_features",
    ),
)
def serving_skew(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    online: OnlineStoreResource,
    model_registry: ModelRegistryResource,
    monitoring_policy: MonitoringPolicy,
    profiles: ProfileStoreResource,
) -> dg.MaterializeResult:
    """The month's logged requests (a sample of ``skew_sample_rows``), their features as the
    service computes them from the online store, and the mart's features of the same rows."""
    month, name = context.partition_key[:7], model_registry.model_name
    log = read_prediction_log(profiles.blob_store(), name, month, requests=True)
    sample, redacted = logged_requests(log, monitoring_policy.skew_sample_rows)
    features = OnlineFeatures.open(online.path)
    parsed = [features.contract.parse(r) for r in sample]
    parsed, rows, refused = _served(features, parsed)
    ids = [features.entity_id(r) for r in parsed]
    names = list(problem.FEATURES)
    key = problem.ENTITY_KEY
    served = pl.DataFrame(rows, infer_schema_length=None)
    served = served.with_columns(
        pl.Series("entity_id", ids, pl.String),
        # a feature the declaration does not compute reads as null, and so differs
        *(pl.lit(None).alias(n) for n in names if n not in served.columns),
    )
    with warehouse.get_connection() as conn:
        conn.register("asked", pl.DataFrame({"entity_id": ids}, schema={"entity_id": pl.String}))
        mart = pl.from_arrow(
            conn.sql(
                f"SELECT CAST(m.{key} AS VARCHAR) AS entity_id, "
                + ", ".join(f"m.{c}" for c in names)
                + f" FROM {problem.FEATURE_TABLE} m JOIN asked a "
                f"ON CAST(m.{key} AS VARCHAR) = a.entity_id ORDER BY entity_id"
            ).to_arrow_table()
        )
    both = mart.join(served, on="entity_id", how="inner", suffix="__served").sort("entity_id")
    offline = both.select(names)
    online_rows = both.select([pl.col(f"{n}__served").alias(n) for n in names])
    differing = {
        n: count for n, count in feature_differences(offline, online_rows, names).items() if count
    }
    compared = both.height
    if compared == 0:
        status = "nothing_to_compare"
        message = (
            f"no logged request of {month} has a row in {problem.FEATURE_TABLE} yet "
            f"({log.height} logged predictions; {redacted} with redacted inputs)"
        )
    elif differing:
        status = "skew"
        message = (
            f"{len(differing)} of {len(names)} features differ between the service and the mart "
            f"for {month}: "
            + ", ".join(f"{n} ({c} of {compared} rows)" for n, c in differing.items())
        )
    else:
        status = "ok"
        message = f"all {len(names)} features equal the mart's for {compared} requests of {month}"
    return judged(
        SKEW_CHECK,
        status,
        "skew",
        message,
        {
            "logged_predictions": log.height,
            "compared_rows": compared,
            "not_in_mart": len(ids) - compared,
            "redacted_requests": redacted,
            "refused_by_store": refused,
            "features": len(names),
            "differing_features": dg.MetadataValue.json(differing),
            "first_differences": dg.MetadataValue.json(
                first_differences(offline, online_rows, both["entity_id"], list(differing))
            ),
        },
    )
