"""The thresholds and guardrails of the retraining loop, in one typed place (shown under
Resources in the Dagster UI, and set per deployment in ``definitions.py`` or by env)."""

import dagster as dg
from pydantic import Field

from mlops_assets.dataset import problem
from mlops_assets.settings import RETRAIN_COOLDOWN_SECONDS


class MonitoringPolicy(dg.ConfigurableResource):
    ks_threshold: float = Field(
        default=0.3,
        description="KS statistic D above which a numeric feature has drifted (with a "
        "calibrated reference: the floor of its threshold).",
    )
    hellinger_threshold: float = Field(
        default=0.3,
        description="Hellinger distance above which a categorical feature drifted (with a "
        "calibrated reference: the floor of its threshold).",
    )
    drift_tolerance: float = Field(
        default=2.0,
        description="A calibrated threshold is this many times the largest distance of one "
        "training month from the others (docs/benchmarks.md, drift calibration).",
    )
    seasonal_drift_features: list[str] = Field(
        default=["temp_f", "dewpoint_f"],
        description="Reported, never counted, against a calibrated reference: one year of data "
        "holds no season twice, so a retrain can never learn them.",
    )
    min_drifted_features: int = Field(
        default=3, description="Drift fails the check once this many features have drifted."
    )
    exclude_features: list[str] = Field(
        default=list(problem.SEASONAL_FEATURES),
        description="Features that move with the calendar by construction, so always 'drift'.",
    )
    min_serving_rows: int = Field(
        default=500, description="Fewer served rows than this: too little to judge drift."
    )
    monitor_every_rows: int = Field(
        default=1000,
        description="Monitor a month again once this many new rows were served (after a burst "
        "has settled).",
    )
    monitor_interval_seconds: int = Field(
        default=600,
        description="Under a trickle of traffic, monitor a month at most this often.",
    )
    monitor_settle_seconds: int = Field(
        default=3,
        description="A burst counts as over when no profile was flushed for this long.",
    )
    auc_floor: float = Field(default=0.6, description="Live ROC AUC below this fails quality.")
    min_labelled_rows: int = Field(
        default=500, description="Fewer labelled predictions than this: too few to judge AUC."
    )
    retrain_cooldown_seconds: int = Field(
        default=RETRAIN_COOLDOWN_SECONDS, description="At most one retrain per this interval."
    )
    min_new_labelled_rows: int = Field(
        default=5000,
        description="Labelled flights needed after the production model's test month to retrain.",
    )
    train_months: int = Field(default=3, description="Months a retrain learns from.")
