"""The offline feature store: every dbt model is an asset, every dbt test an asset check.

``dbt build`` runs models and tests in dependency order and skips everything downstream of a
failing error-severity test, so a broken staging table never reaches the feature mart.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
    get_asset_key_for_model,
)

from mlops_assets.assets.automation import feature_store_condition
from mlops_assets.dataset import problem
from mlops_assets.resources.dbt import dbt_project
from mlops_assets.resources.warehouse import WAREHOUSE_POOL


class FeatureStoreTranslator(DagsterDbtTranslator):
    """Groups dbt models by layer and rebuilds them when their upstream data changes (a landed
    month rebuilds the feature store under the daemon)."""

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
        return feature_store_condition


translator = FeatureStoreTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_code_references=True)
)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
)
def feature_store_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Runs ``dbt build`` for the selected models, their tests and seeds."""
    yield from dbt.cli(["build"], context=context).stream()


FEATURE_MART = get_asset_key_for_model(
    [feature_store_dbt_assets], problem.FEATURE_TABLE.split(".")[-1]
)
