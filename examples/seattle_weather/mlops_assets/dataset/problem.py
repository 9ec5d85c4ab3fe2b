"""The prediction problem: will it rain in Seattle tomorrow, decided at the end of today?"""

# The registered model's name (MLOPS_MODEL_NAME overrides it).
MODEL_NAME = "rain_tomorrow"
TASK = "predict whether it rains in Seattle tomorrow, at the end of today"
LIMITS = "Trained on Seattle-Tacoma airport's daily records of 2012-2015 only."

FEATURE_TABLE = "marts.rain_features"
# A table with one row of label bookkeeping (rows without a label and why), or None.
LABEL_COUNTS_TABLE = None
ENTITY_KEY = "day_id"
LABEL = "rains_tomorrow"
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
    "temp_max_change_c",
)
FEATURES = CATEGORICAL_FEATURES + NUMERIC_FEATURES

# Evaluation reports AUC per value of these columns; the trivial baseline predicts the first
# non-null of these rate columns (else the training prior).
SLICE_COLUMNS = ("weather_today",)
BASELINE_COLUMNS = ("rain_rate_7d",)
# Monitoring leaves these out of drift (they move with the calendar by design).
SEASONAL_FEATURES = ("month", "day_of_year")

# Source columns known only after the decision: only the label may derive from them.
POST_DECISION_COLUMNS = ()


def expected_columns() -> set[str]:
    """Every column the feature mart must have, no more and no less."""
    return {*ROW_METADATA, *FEATURES, LABEL}
