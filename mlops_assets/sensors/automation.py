"""Declarative automation: dbt models carry ``AutomationCondition.eager()`` (see the translator),
so new raw months rebuild the feature store, and ``arrival_drift`` checks the month that
landed. This sensor evaluates those conditions and runs by default under ``dagster dev``."""

import dagster as dg

feature_store_automation = dg.AutomationConditionSensorDefinition(
    name="feature_store_automation",
    target=dg.AssetSelection.groups("reference", "staging", "intermediate", "marts", "online")
    | dg.AssetSelection.assets("arrival_drift"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
)
