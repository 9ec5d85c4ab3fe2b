"""Data-size settings from the problem contract (``DATA_SIZE`` in dataset/problem.py).

A month of flights holds ~27,000 rows and a month of daily weather 30: thresholds that judge
"enough data", and the capacity a model can afford (rows per leaf, leaves, months a retrain
learns from), belong to the dataset, so they are contract settings, and every message that
applies one names it (the config field and where its default lives).
"""

from mlops_assets.dataset import problem

CONTRACT = "mlops_assets/dataset/problem.py"
DEFAULTS = {
    "min_rows_per_split": 1000,
    "min_serving_rows": 500,
    "monitor_every_rows": 1000,
    "min_labelled_rows": 500,
    "min_new_labelled_rows": 5000,
    "retrain_months": 3,
    "num_leaves": 63,
    "min_data_in_leaf": 100,
}


def data_size(name: str) -> int:
    """The contract's value of one threshold (the template's default where it sets none)."""
    return int(getattr(problem, "DATA_SIZE", {}).get(name, DEFAULTS[name]))


def named(name: str, value: int) -> str:
    """How a message names a threshold: its value, and where to change it."""
    return f"{name}={value} (DATA_SIZE['{name}'] in {CONTRACT}, or the run's config)"
