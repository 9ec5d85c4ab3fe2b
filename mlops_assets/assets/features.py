"""The offline feature store: every dbt model is an asset, every dbt test an asset check.

Three ``@dbt_assets`` definitions, in dependency order: the reference data (seeds, airports,
planes, the calendar), the models tagged ``monthly`` (partitioned by month and incremental: a
landed month builds only its own rows), and the summaries that read every month (label counts,
the online views). ``dbt build`` runs models and tests in dependency order and skips everything
downstream of a failing error-severity test, so a broken staging table never reaches the mart.
"""

import json
from collections.abc import Mapping
from functools import partial
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
    get_asset_key_for_model,
)

from mlops_assets.assets.automation import feature_store_condition, monthly_condition
from mlops_assets.assets.partitions import MONTHLY_TAG, monthly_partitions
from mlops_assets.dataset import problem
from mlops_assets.resources.dbt import dbt_project
from mlops_assets.resources.warehouse import WAREHOUSE_POOL


class FeatureStoreTranslator(DagsterDbtTranslator):
    """Groups dbt models by layer; monthly models update the months that land, the rest update
    when their upstream data changes (under the daemon)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        for layer in ("staging", "intermediate", "marts", "online"):
            if layer in fqn:
                return layer
        return super().get_group_name(dbt_resource_props)

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        if MONTHLY_TAG in dbt_resource_props.get("tags", []):
            return monthly_condition
        return feature_store_condition


translator = FeatureStoreTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_code_references=True)
)
_dbt_assets = partial(
    dbt_assets,
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
)


# Seeds, staging and whatever the monthly models read: built before any month (the staging
# tests of a month also read the reference tables, e.g. carriers for flights.carrier).
REFERENCE = f"+tag:{MONTHLY_TAG} resource_type:seed path:models/staging"


@_dbt_assets(select=REFERENCE, exclude=f"tag:{MONTHLY_TAG}", name="feature_reference")
def reference_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Seeds and the reference models the monthly ones join (airports, planes, the calendar):
    built with the first delivery, again only when they change."""
    yield from dbt.cli(["build"], context=context).stream()


class MonthlyBuildConfig(dg.Config):
    """``full_refresh`` rebuilds every monthly model from all raw rows (after a change to a
    model's columns); otherwise only the run's months are rebuilt."""

    full_refresh: bool = False


@_dbt_assets(
    select=f"tag:{MONTHLY_TAG}",
    name="feature_months",
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def monthly_dbt_assets(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, config: MonthlyBuildConfig
):
    """``dbt build`` of the run's months: the partition window reaches dbt as the vars
    ``batch_start``/``batch_end``, and each monthly model replaces just those months' rows
    (``dbt_project/macros/month_batch.sql``). A range of months is one build."""
    if config.full_refresh:
        args = ["build", "--full-refresh"]
    else:
        window = context.partition_time_window
        batch = {"batch_start": f"{window.start:%Y-%m-%d}", "batch_end": f"{window.end:%Y-%m-%d}"}
        args = ["build", "--vars", json.dumps(batch)]
    yield from dbt.cli(args, context=context).stream()


@_dbt_assets(exclude=REFERENCE, name="feature_summaries")
def summary_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """What reads every month: label counts and the online views (rebuilt after each month)."""
    yield from dbt.cli(["build"], context=context).stream()


# (a fork whose models have no `monthly` tag has no monthly definition: one with no assets)
FEATURE_STORE_DBT_ASSETS = tuple(
    d for d in (reference_dbt_assets, monthly_dbt_assets, summary_dbt_assets) if d.keys
)
# dbt asset key -> its group (layer), across the three definitions
DBT_GROUPS = {
    key: group
    for definition in FEATURE_STORE_DBT_ASSETS
    for key, group in definition.group_names_by_key.items()
}


def model_key(name: str) -> dg.AssetKey:
    """The asset key of a dbt model, whichever of the definitions holds it."""
    for definition in FEATURE_STORE_DBT_ASSETS:
        try:
            return get_asset_key_for_model([definition], name)
        except KeyError:
            continue
    raise KeyError(f"no dbt model named {name!r} in the feature store")


FEATURE_MART = model_key(problem.FEATURE_TABLE.split(".")[-1])
