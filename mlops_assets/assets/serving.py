"""The online store and batch scoring: the two readers of the production model besides the
service, sharing its feature lookup (``OnlineFeatures``) and its predictor."""

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import polars as pl

from mlops_assets.assets.features import DBT_GROUPS
from mlops_assets.assets.partitions import monthly_partitions, months_in
from mlops_assets.assets.promotion import production_model
from mlops_assets.assets.training import PROBLEM
from mlops_assets.core.bento_bundle import stage_build_context
from mlops_assets.core.code_version import code_version
from mlops_assets.core.online_store import append_store, current_store, store_meta, write_store
from mlops_assets.core.predictor import load_predictor
from mlops_assets.dataset import problem
from mlops_assets.resources.model_registry import ModelRegistryResource
from mlops_assets.resources.online_store import OnlineStoreResource
from mlops_assets.resources.warehouse import WAREHOUSE_POOL, WarehouseResource
from mlops_assets.settings import DATA_DIR, PROJECT_ROOT

SERVING_GROUP = "serving"
ONLINE_TABLES = (
    "online_arrivals",
    "online_routes",
    "online_carriers",
    "online_planes",
    "online_origin_weather",
    "online_calendar",
)
PREDICTIONS_TABLE = "predictions.flight_delay_batch"


# Tables a new month only adds to: appended by key to a copy of the current store.
APPEND_KEYS = {
    "online_arrivals": ("flight_id",),
    "online_origin_weather": ("origin", "observed_at_utc"),
}


# Large tables kept as one Arrow frame in the store (the service reads them column-wise).
FRAMES = ("online_arrivals",)


class OnlineStoreConfig(dg.Config):
    """``as_of`` (UTC, ISO) serves the past: only history known before it (for replays).
    ``full_rebuild`` writes every row again instead of appending what is new."""

    as_of: str | None = None
    full_rebuild: bool = False


@dg.asset(
    group_name=SERVING_GROUP,
    # every dbt model of the `online` layer (a fork without online models has none)
    deps=[key for key, group in DBT_GROUPS.items() if group == "online"],
    pool=WAREHOUSE_POOL,
    kinds={"sqlite"},
    # a landed month reaches the service in the same run as the feature store's update
    automation_condition=dg.AutomationCondition.eager(),
    code_version=code_version(__name__, "mlops_assets.core.online_store"),
)
def online_store(
    config: OnlineStoreConfig, warehouse: WarehouseResource, online: OnlineStoreResource
) -> dg.MaterializeResult:
    """The online store: arrivals (for request-time history windows), weather, entities.
    Appends what is new to a copy of the current store when it serves the same ``as_of``;
    writes a whole new one otherwise. Either way the swap is atomic."""
    started = time.perf_counter()
    as_of = config.as_of or "latest"
    with warehouse.get_connection() as conn:
        if config.as_of:
            conn.execute("SET VARIABLE online_as_of = CAST(? AS TIMESTAMP)", [config.as_of])
        tables = {
            t: pl.from_arrow(conn.sql(f"SELECT * FROM online.{t}").to_arrow_table())
            for t in ONLINE_TABLES
        }
    tables["online_meta"] = pl.DataFrame({"name": ["as_of"], "value": [as_of]})
    if not config.full_rebuild and store_meta(online.path).get("as_of") == as_of:
        path, added = append_store(online.path, tables, APPEND_KEYS, FRAMES)
        mode = "append"
    else:
        path = write_store(online.path, tables, FRAMES)
        added, mode = {t: tables[t].height for t in APPEND_KEYS}, "full"
    return dg.MaterializeResult(
        metadata={
            "path": str(path),
            "as_of": as_of,
            "mode": mode,
            "seconds": round(time.perf_counter() - started, 3),
            "size_bytes": path.stat().st_size,
            **{f"rows_{t}": frame.height for t, frame in tables.items()},
            **{f"added_{t}": n for t, n in added.items()},
        }
    )


@dg.asset(
    group_name=SERVING_GROUP,
    partitions_def=monthly_partitions,
    deps=[online_store, production_model],
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    code_version=code_version(__name__, "mlops_assets.core.predictor"),
)
def batch_predictions(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    online: OnlineStoreResource,
    model_registry: ModelRegistryResource,
) -> dg.MaterializeResult:
    """Scores a month's flights with the production model from the offline mart's features,
    the features the model was trained on; the service computes the same values online
    (tests/test_online_parity.py), so batch and online predictions agree."""
    registry, name = model_registry.registry(), model_registry.model_name
    version = registry.production(name)
    if version is None:
        raise dg.Failure("no production model: materialize production_model first")
    predictor = load_predictor(registry, version)
    months = ", ".join(str(y * 100 + m) for y, m in months_in(context.partition_time_window))
    features = ", ".join(PROBLEM.categorical + PROBLEM.numeric)
    with warehouse.get_connection() as conn:
        frame = pl.from_arrow(
            conn.sql(
                f"SELECT flight_id, {features} FROM {problem.FEATURE_TABLE} "
                f"WHERE year(flight_date) * 100 + month(flight_date) IN ({months}) "
                "ORDER BY flight_id"
            ).to_arrow_table()
        )
    kept = frame.get_column("flight_id").to_list()
    probability = predictor.predict_proba(frame.drop("flight_id"))
    threshold = version.metadata["threshold"]
    scored = pl.DataFrame(
        {
            "flight_id": kept,
            "probability": probability,
            "predicted_delayed": probability >= threshold,
            "model_version": [version.version] * len(kept),
        }
    )
    with warehouse.get_connection() as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS predictions")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {PREDICTIONS_TABLE} (flight_id VARCHAR, "
            "probability DOUBLE, predicted_delayed BOOLEAN, model_version INTEGER, "
            "scored_month INTEGER)"
        )
        conn.execute("BEGIN TRANSACTION")
        conn.execute(f"DELETE FROM {PREDICTIONS_TABLE} WHERE scored_month IN ({months})")
        conn.register("scored", scored.to_arrow())
        conn.execute(
            f"INSERT INTO {PREDICTIONS_TABLE} SELECT flight_id, probability, "
            "predicted_delayed, model_version, "
            f"CAST(substr(flight_id, 1, 4) || substr(flight_id, 6, 2) AS INTEGER) "
            "FROM scored"
        )
        conn.execute("COMMIT")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(kept),
            "model_version": version.version,
            "features_from": problem.FEATURE_TABLE,
            "mean_probability": float(probability.mean()) if len(kept) else float("nan"),
            "predicted_delayed_rate": float((probability >= threshold).mean())
            if len(kept)
            else 0.0,
        }
    )


@dg.asset(
    group_name=SERVING_GROUP,
    deps=[production_model, online_store],
    kinds={"bentoml"},
    code_version=code_version(__name__, "mlops_assets.core.bento_bundle"),
    # rebuilt when production changes outside a retrain run (a promotion by automation); not
    # for every online-store update (a delivery): the Bento carries the store of its build
    automation_condition=(
        dg.AutomationCondition.any_deps_updated()
        .allow(dg.AssetSelection.assets("production_model"))
        .since_last_handled()
        & ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("production changed"),
)
def bento(
    context: dg.AssetExecutionContext,
    model_registry: ModelRegistryResource,
    online: OnlineStoreResource,
) -> dg.MaterializeResult:
    """The delivery artifact: `bentoml build` of the service with the production model and the
    online store inside, tagged with the model version."""
    registry, name = model_registry.registry(), model_registry.model_name
    version = registry.production(name)
    if version is None:
        raise dg.Failure("no production model to package: materialize production_model first")
    context_dir = stage_build_context(
        DATA_DIR / "bento_build",
        PROJECT_ROOT / "bento",
        PROJECT_ROOT / "mlops_assets",
        registry,
        version,
        current_store(online.path),
    )
    env = {**os.environ, "BENTOML_HOME": str(DATA_DIR / "bentoml"), "BENTOML_DO_NOT_TRACK": "true"}
    bentoml_cli = str(Path(sys.executable).parent / "bentoml")
    # A rebuild of the same model version replaces the earlier Bento (the store may be newer).
    subprocess.run(
        [bentoml_cli, "delete", f"flight_delay:v{version.version}", "-y"],
        env=env,
        capture_output=True,
    )
    result = subprocess.run(
        [
            bentoml_cli,
            "build",
            ".",
            "--version",
            f"v{version.version}",
            "--output",
            "tag",
        ],
        env=env,
        cwd=context_dir,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise dg.Failure(f"bentoml build failed: {result.stderr[-2000:]}")
    tag = result.stdout.strip().splitlines()[-1].replace("__tag__:", "")
    bento_dir = DATA_DIR / "bentoml" / "bentos" / tag.split(":")[0] / tag.split(":")[1]
    size = sum(p.stat().st_size for p in bento_dir.rglob("*") if p.is_file())
    return dg.MaterializeResult(
        metadata={
            "bento_tag": tag,
            "bento_size_bytes": size,
            "model_version": version.version,
            "serve": dg.MetadataValue.md(
                f"```\nBENTOML_HOME={DATA_DIR / 'bentoml'} bentoml serve {tag}\n```"
            ),
        }
    )
