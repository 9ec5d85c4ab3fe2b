"""The prediction problem: Seattle's maximum temperature tomorrow, decided at the end of today."""

# The registered model's name (MLOPS_MODEL_NAME overrides it).
MODEL_NAME = "temp_max_tomorrow"
TASK = "predict Seattle's maximum temperature tomorrow (°C), at the end of today"
LIMITS = "Trained on Seattle-Tacoma airport's daily records of 2012-2015 only."
# A number to predict (core/training/tasks.py): "binary", "regression" or "multiclass".
TASK_TYPE = "regression"

FEATURE_TABLE = "marts.temp_features"
# A table with one row of label bookkeeping (rows without a label and why), or None.
LABEL_COUNTS_TABLE = None
ENTITY_KEY = "day_id"
LABEL = "temp_max_tomorrow_c"
# When the row's features were cut off, and its calendar date (the training split is by month).
EVENT_TIME = "decision_at"
EVENT_DATE = "day"
DEFAULT_TEST_MONTH = "2015-12"

ROW_METADATA = ("day_id", "day", "decision_at")
CATEGORICAL_FEATURES = ("weather_today",)
NUMERIC_FEATURES = (
    "month",
    "day_of_year",
    "precipitation_mm",
    "temp_max_c",
    "temp_min_c",
    "temp_range_c",
    "wind_ms",
    "precip_3d_mm",
    "precip_7d_mm",
    "rain_rate_7d",
    "temp_max_3d_avg_c",
    "temp_max_7d_avg_c",
    "temp_max_change_c",
)
FEATURES = CATEGORICAL_FEATURES + NUMERIC_FEATURES

# Evaluation reports RMSE per value of these columns; the naive baseline predicts the first
# non-null of these columns (persistence: today's maximum), else the training mean.
SLICE_COLUMNS = ("weather_today",)
BASELINE_COLUMNS = ("temp_max_c",)
# Monitoring leaves these out of drift (they move with the calendar by design).
SEASONAL_FEATURES = ("month", "day_of_year")
# Reported, never counted against a calibrated reference: none (retrains see two years, and a
# calibrated month-of-30-days threshold already leaves the temperatures out).
SEASONAL_DRIFT_FEATURES = ()

# The mart's longest history window (days): a corrected month's loaded successors within it
# are rebuilt too.
FEATURE_LOOKBACK_DAYS = 7

# Source columns known only after the decision: only the label may derive from them.
POST_DECISION_COLUMNS = ()


# What depends on how many rows a month holds (about 30 here): thresholds that judge "enough
# data" and the capacity a model can afford; the defaults of the training and monitoring
# configs, named in the messages that apply them.
DATA_SIZE = {
    "min_rows_per_split": 20,  # a training, validation or test split with fewer is refused
    "min_serving_rows": 20,  # served rows of a month needed to judge drift
    "monitor_every_rows": 28,  # monitor a month again after this many new served rows
    "min_labelled_rows": 20,  # labelled predictions needed to judge live quality
    "min_new_labelled_rows": 28,  # new labelled rows after the test month to retrain
    "retrain_months": 24,  # months a retrain learns from: two years, every season seen twice
    "num_leaves": 15,  # LightGBM: leaves per tree
    "min_data_in_leaf": 20,  # LightGBM: rows a leaf needs
}


def expected_columns() -> set[str]:
    """Every column the feature mart must have, no more and no less."""
    return {*ROW_METADATA, *FEATURES, LABEL}
