"""LightGBM on the CPU: native categoricals, early stopping on the validation month, and
settings that make the same inputs give the same model file byte for byte."""

import time
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np

DEFAULT_PARAMS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 63,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 10.0,
    "verbosity": -1,
    # reproducibility: fixed seed, deterministic histogram building, fixed thread count
    "seed": 42,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 2,
}


@dataclass(frozen=True)
class LightGBMResult:
    booster: lgb.Booster
    best_iteration: int
    seconds: float
    rows_per_second: float


def train_lightgbm(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    categorical_indices: list[int],
    params: dict | None = None,
    num_boost_round: int = 2000,
    early_stopping_rounds: int = 50,
    objective: dict | None = None,
) -> LightGBMResult:
    """Train with early stopping on the validation set; arrays in, booster out. ``objective``
    (the task's objective and metric, e.g. ``{"objective": "regression", "metric": "rmse"}``)
    overrides the binary/AUC default."""
    params = {**DEFAULT_PARAMS, **(params or {}), **(objective or {"metric": "auc"})}
    start = time.perf_counter()
    train = lgb.Dataset(
        x_train, label=y_train, categorical_feature=categorical_indices, free_raw_data=False
    )
    valid = lgb.Dataset(x_valid, label=y_valid, reference=train)
    booster = lgb.train(
        params,
        train,
        num_boost_round=num_boost_round,
        valid_sets=[valid],
        callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)],
    )
    seconds = time.perf_counter() - start
    return LightGBMResult(
        booster=booster,
        best_iteration=booster.best_iteration,
        seconds=seconds,
        rows_per_second=x_train.shape[0] * booster.current_iteration() / seconds,
    )


def booster_to_text(booster: lgb.Booster) -> str:
    """LightGBM's own text format: safe to load, diffable, identical for identical training."""
    return booster.model_to_string(num_iteration=booster.best_iteration or None)


def booster_from_text(text: str) -> lgb.Booster:
    return lgb.Booster(model_str=text)
