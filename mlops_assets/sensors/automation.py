"""Declarative automation: dbt models and the online store follow raw months loaded outside a
delivery run (``assets/automation.py``); candidates retrain once when their training code
changes, and evaluation, promotion and the Bento follow them. This sensor evaluates those
conditions; it runs by default under the daemon of ``dagster dev``."""

import dagster as dg

feature_store_automation = dg.AutomationConditionSensorDefinition(
    name="feature_store_automation",
    target=dg.AssetSelection.groups("reference", "staging", "intermediate", "marts", "online")
    | dg.AssetSelection.groups("training")
    | dg.AssetSelection.assets("online_store", "bento"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    # every evaluation judges ~100 assets; 10 s keeps a landed month prompt on two cores
    minimum_interval_seconds=10,
)
