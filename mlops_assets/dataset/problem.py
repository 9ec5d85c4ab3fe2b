"""The prediction problem: entity key, label, and the feature contract of the mart.

This is the one feature/target config a fork edits along with its dbt models. Training, serving
and monitoring read feature names and kinds from here, never from column guesses.
"""

# The registered model's name (MLOPS_MODEL_NAME overrides it).
MODEL_NAME = "flight_delay"
TASK = (
    "predict whether a flight arrives more than 15 minutes late, two hours before scheduled "
    "departure"
)
LIMITS = (
    "Trained on New York departures of 2013 only; cancelled and diverted flights are excluded "
    "from training, so the model says nothing about cancellations."
)

# The kind of question (core/training/tasks.py): "binary" (a boolean label: scores are
# P(true)), "regression" (a number: scores are the value) or "multiclass" (one of the label
# values seen in training: scores are a probability per class).
TASK_TYPE = "binary"

FEATURE_TABLE = "marts.flight_features"
LABEL_COUNTS_TABLE = "marts.flight_label_counts"
ENTITY_KEY = "flight_id"
LABEL = "is_delayed"
# When the row's features were cut off; training splits by it and never shuffles across time.
EVENT_TIME = "decision_at_utc"
# The row's calendar date: monthly splits, drift windows and partitions are by this column.
EVENT_DATE = "flight_date"
DEFAULT_TEST_MONTH = "2013-12"

# Columns that identify or time a row but are not model inputs.
ROW_METADATA = (
    "flight_id",
    "flight_date",
    "scheduled_departure_utc",
    "decision_at_utc",
    "flight_number",
    "tailnum",
)

CATEGORICAL_FEATURES = ("carrier", "origin", "dest", "plane_type")

HISTORY_WINDOWS_DAYS = (7, 30)  # keep in step with var('history_windows_days') in dbt
HISTORY_STATS = ("n_arrived", "delay_rate", "mean_arr_delay")
_HISTORY = tuple(
    f"{entity}_{days}d_{stat}"
    for entity in ("route", "carrier", "origin_hour", "tailnum")
    for days in HISTORY_WINDOWS_DAYS
    for stat in HISTORY_STATS
)

WEATHER_FEATURES = (
    "temp_f",
    "dewpoint_f",
    "humidity_pct",
    "wind_dir_deg",
    "wind_speed_mph",
    "wind_gust_mph",
    "precip_inches",
    "pressure_mb",
    "visibility_miles",
)

NUMERIC_FEATURES = (
    "month",
    "day_of_week",
    "sched_dep_hour",
    "days_to_nearest_holiday",
    "distance_miles",
    "is_plane_known",
    "plane_age_years",
    "plane_seats",
    "plane_engines",
    "weather_age_minutes",
    *WEATHER_FEATURES,
    *_HISTORY,
)

FEATURES = CATEGORICAL_FEATURES + NUMERIC_FEATURES

# Evaluation reports AUC per value of these columns; the trivial baseline predicts the first
# non-null of these rate columns (else the training prior).
SLICE_COLUMNS = ("carrier", "origin")
BASELINE_COLUMNS = ("route_30d_delay_rate", "carrier_30d_delay_rate")
# Monitoring leaves these out of drift: they move with the calendar by construction.
SEASONAL_FEATURES = ("month", "days_to_nearest_holiday")
# Features that follow the weather's season: profiled and reported, never counted against a
# calibrated reference (one year of flights holds no season twice, so a retrain cannot learn it).
SEASONAL_DRIFT_FEATURES = ("temp_f", "dewpoint_f")

# The mart's longest history window (days): a corrected month's loaded successors within it
# are rebuilt too (core/ingestion/deliveries.py).
FEATURE_LOOKBACK_DAYS = 30

# Source columns known only after departure: only the label may derive from them.
POST_DECISION_COLUMNS = ("dep_time", "dep_delay", "arr_time", "arr_delay", "air_time")

# What depends on how many rows a month holds (about 27,000 here): thresholds that judge "enough
# data" and the capacity a model can afford; the defaults of the training and monitoring
# configs, named in the messages that apply them.
DATA_SIZE = {
    "min_rows_per_split": 1000,  # a training, validation or test split with fewer is refused
    "min_serving_rows": 500,  # served rows of a month needed to judge drift
    "monitor_every_rows": 1000,  # monitor a month again after this many new served rows
    "min_labelled_rows": 500,  # labelled predictions needed to judge live quality
    "min_new_labelled_rows": 5000,  # new labelled rows after the test month to retrain
    "retrain_months": 3,  # months a retrain learns from
    "num_leaves": 63,  # LightGBM: leaves per tree
    "min_data_in_leaf": 100,  # LightGBM: rows a leaf needs
}


def expected_columns() -> set[str]:
    """Every column the feature mart must have, no more and no less."""
    return {*ROW_METADATA, *FEATURES, LABEL}


def flight_key(flight_date, carrier: str, flight_number: int, origin: str) -> str:
    """The mart's ``flight_id`` for a scheduled flight (as built in stg_nycflights13__flights)."""
    return f"{flight_date.isoformat()}_{carrier}_{flight_number}_{origin}"


# One real flight as a service request, for the demo, the tests and the benchmarks.
EXAMPLE_REQUEST = {
    "carrier": "UA",
    "flight_number": 1545,
    "origin": "EWR",
    "dest": "IAH",
    "scheduled_departure": "2013-12-20T17:30:00",
    "tailnum": "N14228",
}
