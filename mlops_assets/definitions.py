"""The one place that assembles the project: assets, checks, resources, sensors, jobs."""

import dagster as dg

from mlops_assets import settings
from mlops_assets.assets.evaluation import model_evaluation, promotion_gate
from mlops_assets.assets.feature_checks import features_match_contract
from mlops_assets.assets.features import FEATURE_STORE_DBT_ASSETS
from mlops_assets.assets.feedback import live_quality
from mlops_assets.assets.ingestion import raw_assets
from mlops_assets.assets.monitoring import arrival_drift, reference_profile, serving_drift
from mlops_assets.assets.promotion import production_model
from mlops_assets.assets.serving import batch_predictions, bento, online_store
from mlops_assets.assets.serving_skew import serving_skew
from mlops_assets.assets.training import CANDIDATES, training_set
from mlops_assets.executor import project_executor
from mlops_assets.jobs import (
    build_features_job,
    land_months_job,
    monitor_job,
    rebuild_features_job,
    retrain_job,
)
from mlops_assets.resources.dbt import dbt_resource
from mlops_assets.resources.json_io_manager import JsonIOManager
from mlops_assets.resources.model_registry import ModelRegistryResource
from mlops_assets.resources.monitoring_policy import MonitoringPolicy
from mlops_assets.resources.online_store import OnlineStoreResource
from mlops_assets.resources.profile_store import ProfileStoreResource
from mlops_assets.resources.raw_files import RawFilesResource
from mlops_assets.resources.warehouse import warehouse_resource
from mlops_assets.sensors import schedules, sensors

defs = dg.Definitions(
    assets=[
        *raw_assets,
        *FEATURE_STORE_DBT_ASSETS,
        training_set,
        *CANDIDATES,
        model_evaluation,
        production_model,
        online_store,
        batch_predictions,
        bento,
        reference_profile,
        serving_drift,
        arrival_drift,
        live_quality,
        serving_skew,
    ],
    asset_checks=[features_match_contract, promotion_gate],
    jobs=[build_features_job, rebuild_features_job, land_months_job, retrain_job, monitor_job],
    # in-process by default; Celery workers on the scale-out stack (MLOPS_EXECUTOR=celery)
    executor=project_executor(),
    schedules=schedules,
    sensors=sensors,
    resources={
        "warehouse": warehouse_resource(),
        "raw_files": RawFilesResource(source_dir=settings.RAW_SOURCE_DIR),
        "dbt": dbt_resource(),
        "model_registry": ModelRegistryResource(),
        "online": OnlineStoreResource(),
        "profiles": ProfileStoreResource(),
        "monitoring_policy": MonitoringPolicy(),
        # step outputs as JSON, never pickled (docs/reliability.md, security checklist)
        "io_manager": JsonIOManager(),
    },
)
