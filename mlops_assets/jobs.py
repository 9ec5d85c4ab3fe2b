"""Named units of work a user launches by name (and the sensors request)."""

import dagster as dg

from mlops_assets.dataset.raw_tables import MONTHLY_TABLES, STATIC_TABLES

MONTHLY_RAW = [dg.AssetKey(["raw", table.name]) for table in MONTHLY_TABLES]
STATIC_RAW = [dg.AssetKey(["raw", table.name]) for table in STATIC_TABLES]
FEATURE_STORE_GROUPS = ("reference", "staging", "intermediate", "marts", "online")

# Raw tables for the selected months, then every dbt model, test and the feature checks.
build_features_job = dg.define_asset_job(
    name="build_features",
    selection=dg.AssetSelection.groups("raw", *FEATURE_STORE_GROUPS),
    description="Load raw months and rebuild the feature store.",
)

# The feature store from the raw tables already in the warehouse: the run's months (its partition
# or range), or every row with `ops: {feature_months: {config: {full_refresh: true}}}` after a
# change to a monthly model's columns.
rebuild_features_job = dg.define_asset_job(
    name="rebuild_features",
    selection=dg.AssetSelection.groups(*FEATURE_STORE_GROUPS),
    description="Rebuild the feature store's months (or every row, with full_refresh) from the "
    "raw tables already loaded.",
)

# A delivery, in one run: the delivered months into the warehouse's raw tables (with the
# reference data, the first time), the feature store rebuilt after them, the online store
# updated, and the landed month's arrivals judged for drift. ``raw_delivery_sensor`` selects what
# each delivery needs.
land_months_job = dg.define_asset_job(
    name="land_months",
    selection=dg.AssetSelection.assets(*MONTHLY_RAW, *STATIC_RAW, "online_store", "arrival_drift")
    | dg.AssetSelection.groups(*FEATURE_STORE_GROUPS),
    description="Load delivered months from the landing folder, update the feature store and "
    "the online store, and judge the landed month's drift.",
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

# One month of monitoring: drift of served traffic, live quality from the feedback join, and
# training-serving skew of the month's logged requests.
monitor_job = dg.define_asset_job(
    name="monitor",
    selection=dg.AssetSelection.assets("serving_drift", "live_quality", "serving_skew"),
    description="Drift, live quality and training-serving skew of one month of served traffic.",
)
