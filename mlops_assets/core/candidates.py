"""Fit a candidate model on a training set and package it for the registry.

The Dagster assets, the reproduce-from-version path and the benchmarks all call these
functions, so a re-run of a past training executes exactly the code that produced it.
"""

import json
from dataclasses import dataclass

import numpy as np
import polars as pl

from mlops_assets.core.encoding import FeatureEncoder
from mlops_assets.core.metrics import best_f1_threshold, classification_report
from mlops_assets.core.predictor import ENCODER_FILE, LIGHTGBM_FILE


@dataclass(frozen=True)
class Problem:
    """What to predict from what: read from the dataset's feature contract."""

    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    label: str


@dataclass(frozen=True)
class Candidate:
    files: dict[str, bytes]
    metadata: dict


def _split(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    return frame.filter(pl.col("split") == name)


def _labels(frame: pl.DataFrame, label: str) -> np.ndarray:
    return frame.get_column(label).cast(pl.Float64).to_numpy()


def _reports(encoder_predict, frame: pl.DataFrame, label: str) -> tuple[float, dict]:
    """Threshold chosen on validation, then validation and test reports at that threshold."""
    valid, test = _split(frame, "valid"), _split(frame, "test")
    p_valid = encoder_predict(valid)
    threshold = best_f1_threshold(_labels(valid, label), p_valid)
    return threshold, {
        "valid": classification_report(_labels(valid, label), p_valid, threshold),
        "test": classification_report(_labels(test, label), encoder_predict(test), threshold),
    }


def fit_lightgbm(frame: pl.DataFrame, problem: Problem, params: dict, rounds: dict) -> Candidate:
    from mlops_assets.core.lightgbm_trainer import booster_to_text, train_lightgbm

    train, valid = _split(frame, "train"), _split(frame, "valid")
    encoder = FeatureEncoder.fit(train, problem.categorical, problem.numeric)
    result = train_lightgbm(
        encoder.transform(train),
        _labels(train, problem.label),
        encoder.transform(valid),
        _labels(valid, problem.label),
        categorical_indices=list(range(len(problem.categorical))),
        params=params,
        **rounds,
    )
    text = booster_to_text(result.booster)

    def predict(part: pl.DataFrame) -> np.ndarray:
        return result.booster.predict(encoder.transform(part), num_iteration=result.best_iteration)

    threshold, metrics = _reports(predict, frame, problem.label)
    return Candidate(
        files={LIGHTGBM_FILE: text.encode(), ENCODER_FILE: json.dumps(encoder.to_dict()).encode()},
        metadata={
            "framework": "lightgbm",
            "params": params,
            "rounds": rounds,
            "best_iteration": result.best_iteration,
            "threshold": threshold,
            "metrics": metrics,
            "train_seconds": round(result.seconds, 3),
            "device": "cpu",
            "rows_per_second": round(result.rows_per_second, 1),
            "train_rows": train.height,
        },
    )


# >>> pytorch
def fit_torch(frame: pl.DataFrame, problem: Problem, params: dict, device=None) -> Candidate:
    from mlops_assets.core.predictor import TORCH_CONFIG_FILE, TORCH_WEIGHTS_FILE
    from mlops_assets.core.torch_trainer import (
        NumericScaler,
        TorchPredictorNet,
        split_matrix,
        state_to_bytes,
        train_torch,
    )

    train, valid = _split(frame, "train"), _split(frame, "valid")
    encoder = FeatureEncoder.fit(train, problem.categorical, problem.numeric)
    n_cat = len(problem.categorical)
    train_matrix = encoder.transform(train)
    scaler = NumericScaler.fit(train_matrix[:, n_cat:])

    def arrays(part: pl.DataFrame, matrix: np.ndarray | None = None):
        cat, num = split_matrix(
            encoder.transform(part) if matrix is None else matrix, n_cat, scaler
        )
        return cat, num, _labels(part, problem.label)

    cardinalities = [len(encoder.vocabularies[c]) for c in problem.categorical]
    result = train_torch(arrays(train, train_matrix), arrays(valid), cardinalities, params, device)
    net = TorchPredictorNet.from_result(result)

    def predict(part: pl.DataFrame) -> np.ndarray:
        cat, num, _ = arrays(part)
        return net.predict(cat, num)

    threshold, metrics = _reports(predict, frame, problem.label)
    network = {"network": result.config, "scaler": {"mean": scaler.mean, "std": scaler.std}}
    return Candidate(
        files={
            TORCH_WEIGHTS_FILE: state_to_bytes(result.state),
            TORCH_CONFIG_FILE: json.dumps(network).encode(),
            ENCODER_FILE: json.dumps(encoder.to_dict()).encode(),
        },
        metadata={
            "framework": "torch",
            "params": params,
            "threshold": threshold,
            "metrics": metrics,
            "best_epoch": result.best_epoch,
            "best_valid_auc": result.best_valid_auc,
            "train_seconds": round(result.seconds, 3),
            "seconds_to_best_valid_auc": round(result.seconds_to_best, 3),
            "samples_per_second": round(result.samples_per_second, 1),
            "device": result.device,
            "train_rows": train.height,
        },
    )


# <<< pytorch
