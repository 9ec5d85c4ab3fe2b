"""The online store and batch scoring: the two readers of the production model besides the
service, sharing its feature lookup (``OnlineFeatures``) and its predictor."""

import json
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
from mlops_assets.core.code_version import code_version
from mlops_assets.core.features.feature_views import AsOf, History
from mlops_assets.core.features.online_features import serving_contract
from mlops_assets.core.features.online_store import (
    append_store,
    current_store,
    store_meta,
    write_store,
)
from mlops_assets.core.serving.bento_bundle import stage_build_context
from mlops_assets.core.serving.predictor import load_predictor
from mlops_assets.core.training.tasks import current_task
from mlops_assets.dataset import problem
from mlops_assets.resources.model_registry import ModelRegistryResource
from mlops_assets.resources.online_store import OnlineStoreResource
from mlops_assets.resources.warehouse import WAREHOUSE_POOL, WarehouseResource
from mlops_assets.settings import DATA_DIR, PROJECT_ROOT

SERVING_GROUP = "serving"
PREDICTIONS_TABLE = f"predictions.{problem.MODEL_NAME}_batch"
SERVING = serving_contract()
# The online tables the serving declaration reads (dbt models of the `online` layer).
ONLINE_TABLES = SERVING.tables()
# Tables a new month only adds to, appended by key to a copy of the current store: history
# events by their id, as-of observations by key and time. History tables are kept as one Arrow
# frame each (the service reads them column-wise).
APPEND_KEYS = {
    **{v.table: (v.id_column,) for v in SERVING.views if isinstance(v, History)},
    **{v.table: (*v.key, v.time_column) for v in SERVING.views if isinstance(v, AsOf)},
}
FRAMES = tuple(v.table for v in SERVING.views if isinstance(v, History))


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
    code_version=code_version(__name__, "mlops_assets.core.features.online_store"),
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
    code_version=code_version(__name__, "mlops_assets.core.serving.predictor"),
)
def batch_predictions(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    online: OnlineStoreResource,
    model_registry: ModelRegistryResource,
) -> dg.MaterializeResult:
    """Scores a month's rows with the production model from the offline mart's features, the
    features the model was trained on; the service computes the same values online
    (tests/dataset/test_online_parity.py), so batch and online predictions agree."""
    registry, name = model_registry.registry(), model_registry.model_name
    version = registry.production(name)
    if version is None:
        raise dg.Failure("no production model: materialize production_model first")
    predictor = load_predictor(registry, version)
    months = ", ".join(str(y * 100 + m) for y, m in months_in(context.partition_time_window))
    features = ", ".join(PROBLEM.categorical + PROBLEM.numeric)
    key, day = problem.ENTITY_KEY, problem.EVENT_DATE
    with warehouse.get_connection() as conn:
        frame = pl.from_arrow(
            conn.sql(
                f"SELECT {key}, year({day}) * 100 + month({day}) AS scored_month, {features} "
                f"FROM {problem.FEATURE_TABLE} "
                f"WHERE year({day}) * 100 + month({day}) IN ({months}) ORDER BY {key}"
            ).to_arrow_table()
        )
    scores = predictor.predict_frame(frame.drop(key, "scored_month"))
    task = current_task(version.metadata)
    outputs = _output_frame(task.outputs(scores, version.metadata), task.output_fields())
    scored = (
        frame.select(key, "scored_month")
        .hstack(outputs)
        .with_columns(model_version=pl.lit(version.version, pl.Int32))
    )
    with warehouse.get_connection() as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS predictions")
        conn.execute("BEGIN TRANSACTION")
        conn.register("scored", scored.to_arrow())
        # one table per model; its columns are the task's outputs
        conn.execute(f"CREATE TABLE IF NOT EXISTS {PREDICTIONS_TABLE} AS FROM scored LIMIT 0")
        conn.execute(f"DELETE FROM {PREDICTIONS_TABLE} WHERE scored_month IN ({months})")
        conn.execute(f"INSERT INTO {PREDICTIONS_TABLE} BY NAME FROM scored")
        conn.execute("COMMIT")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": scored.height,
            "model_version": version.version,
            "features_from": problem.FEATURE_TABLE,
            # the mean of each numeric output (for a boolean one, its rate)
            **{
                f"mean_{name}": float(column.cast(pl.Float64).mean() or 0.0)
                for name, column in outputs.to_dict().items()
                if column.dtype in (pl.Float64, pl.Boolean)
            },
        }
    )


def _output_frame(outputs: list[dict], fields: dict[str, type]) -> pl.DataFrame:
    """The task's outputs as columns; a mapping (class probabilities) as JSON text."""
    kinds = {float: pl.Float64, bool: pl.Boolean, str: pl.String, int: pl.Int64}
    return pl.DataFrame(
        {
            name: pl.Series(
                [json.dumps(o[name]) if kind not in kinds else o[name] for o in outputs],
                dtype=kinds.get(kind, pl.String),
            )
            for name, kind in fields.items()
        }
    )


@dg.asset(
    group_name=SERVING_GROUP,
    deps=[production_model, online_store],
    kinds={"bentoml"},
    code_version=code_version(__name__, "mlops_assets.core.serving.bento_bundle"),
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
        [bentoml_cli, "delete", f"{version.name}:v{version.version}", "-y"],
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
