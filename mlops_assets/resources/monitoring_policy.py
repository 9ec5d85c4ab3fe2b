"""The thresholds and guardrails of the retraining loop, in one typed place (shown under
Resources in the Dagster UI, and set per deployment in ``definitions.py`` or by env)."""

import dagster as dg
from pydantic import Field

from mlops_assets.core.monitoring.live_quality import QualityLimit
from mlops_assets.core.training.data_size import data_size
from mlops_assets.core.training.tasks import Task
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
        default=list(getattr(problem, "SEASONAL_DRIFT_FEATURES", ())),
        description="Reported, never counted, against a calibrated reference: features that "
        "follow a season the training months hold once (SEASONAL_DRIFT_FEATURES in "
        "dataset/problem.py).",
    )
    min_drifted_features: int = Field(
        default=3, description="Drift fails the check once this many features have drifted."
    )
    exclude_features: list[str] = Field(
        default=list(problem.SEASONAL_FEATURES),
        description="Features that move with the calendar by construction, so always 'drift'.",
    )
    count_prediction_drift: bool = Field(
        default=False,
        description="Count drifted served scores (prediction drift) like a drifted feature "
        "towards min_drifted_features; off: reported only.",
    )
    min_serving_rows: int = Field(
        default=data_size("min_serving_rows"),
        description="Fewer served rows than this: too little to judge drift.",
    )
    monitor_every_rows: int = Field(
        default=data_size("monitor_every_rows"),
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
    auc_floor: float = Field(
        default=0.6, description="Binary tasks: live ROC AUC below this fails quality."
    )
    max_rmse_ratio: float = Field(
        default=1.5,
        description="Regression tasks: live RMSE above this many times the production model's "
        "test-month RMSE fails quality.",
    )
    macro_f1_floor: float = Field(
        default=0.5, description="Multiclass tasks: live macro-F1 below this fails quality."
    )
    min_labelled_rows: int = Field(
        default=data_size("min_labelled_rows"),
        description="Fewer labelled predictions than this: too few to judge live quality.",
    )
    skew_sample_rows: int = Field(
        default=2000,
        description="Training-serving skew: at most this many logged requests of a month have "
        "their served features compared with the mart's (a fixed random sample).",
    )
    retrain_cooldown_seconds: int = Field(
        default=RETRAIN_COOLDOWN_SECONDS, description="At most one retrain per this interval."
    )
    min_new_labelled_rows: int = Field(
        default=data_size("min_new_labelled_rows"),
        description="Labelled rows needed after the production model's test month to retrain.",
    )
    train_months: int = Field(
        default=data_size("retrain_months"), description="Months a retrain learns from."
    )

    def live_quality_limit(self, task: Task, production_metadata: dict | None) -> QualityLimit:
        """What live quality must satisfy for ``task``: binary ROC AUC >= ``auc_floor``;
        regression RMSE <= ``max_rmse_ratio`` x the production model's test RMSE (no model:
        no limit); multiclass macro-F1 >= ``macro_f1_floor``."""
        if task.kind == "regression":
            test = ((production_metadata or {}).get("metrics") or {}).get("test", {})
            reference = test.get("rmse", float("inf"))
            return QualityLimit("rmse", self.max_rmse_ratio * reference, higher_is_better=False)
        if task.kind == "multiclass":
            return QualityLimit("macro_f1", self.macro_f1_floor, higher_is_better=True)
        return QualityLimit("roc_auc", self.auc_floor, higher_is_better=True)
