"""Fit a candidate model on a training set and package it for the registry.

The Dagster assets, the reproduce-from-version path and the benchmarks all call these
functions, so a re-run of a past training executes exactly the code that produced it.
"""

import json
from dataclasses import dataclass

import numpy as np
import polars as pl

from mlops_assets.core.serving.predictor import ENCODER_FILE, LIGHTGBM_FILE
from mlops_assets.core.training.encoding import FeatureEncoder
from mlops_assets.core.training.tasks import Task, task_for


@dataclass(frozen=True)
class Problem:
    """What to predict from what: read from the dataset's feature contract."""

    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    label: str
    task: str = "binary"  # TASK_TYPE: "binary", "regression" or "multiclass"


@dataclass(frozen=True)
class Candidate:
    files: dict[str, bytes]
    metadata: dict


def _split(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    return frame.filter(pl.col("split") == name)


def fitted_task(frame: pl.DataFrame, problem: Problem) -> Task:
    """The problem's task with what the train split teaches about the label (its classes)."""
    task = task_for(problem.task)
    labels = frame.get_column(problem.label)
    task.check_labels(labels)
    return task.fitted(_split(frame, "train").get_column(problem.label))


def _labels(frame: pl.DataFrame, problem: Problem, task: Task) -> np.ndarray:
    return task.targets(frame.get_column(problem.label))


def _reports(encoder_predict, frame: pl.DataFrame, problem: Problem, task: Task) -> dict:
    """What is decided on validation (binary: the threshold), the task's metadata, and
    validation and test reports under that decision."""
    valid, test = _split(frame, "valid"), _split(frame, "test")
    y_valid, p_valid = _labels(valid, problem, task), encoder_predict(valid)
    decided = task.decision_metadata(y_valid, p_valid)
    return {
        **decided,
        "metrics": {
            "valid": task.report(y_valid, p_valid, decided),
            "test": task.report(_labels(test, problem, task), encoder_predict(test), decided),
        },
        **task.metadata(),
    }


def _early_stopping_rows(part: pl.DataFrame, problem: Problem, task: Task) -> pl.DataFrame:
    """Validation rows a model can score itself on (multiclass: classes seen in training)."""
    return part.filter(pl.Series(task.trainable(_labels(part, problem, task))))


def fit_lightgbm(frame: pl.DataFrame, problem: Problem, params: dict, rounds: dict) -> Candidate:
    from mlops_assets.core.training.lightgbm_trainer import booster_to_text, train_lightgbm

    task = fitted_task(frame, problem)
    train, valid = _split(frame, "train"), _split(frame, "valid")
    valid = _early_stopping_rows(valid, problem, task)
    encoder = FeatureEncoder.fit(train, problem.categorical, problem.numeric)
    result = train_lightgbm(
        encoder.transform(train),
        _labels(train, problem, task),
        encoder.transform(valid),
        _labels(valid, problem, task),
        categorical_indices=list(range(len(problem.categorical))),
        params=params,
        **rounds,
        objective=task.lightgbm_objective(),
    )
    text = booster_to_text(result.booster)

    def predict(part: pl.DataFrame) -> np.ndarray:
        return result.booster.predict(encoder.transform(part), num_iteration=result.best_iteration)

    evaluated = _reports(predict, frame, problem, task)
    return Candidate(
        files={LIGHTGBM_FILE: text.encode(), ENCODER_FILE: json.dumps(encoder.to_dict()).encode()},
        metadata={
            "framework": "lightgbm",
            "params": params,
            "rounds": rounds,
            "best_iteration": result.best_iteration,
            **evaluated,
            "train_seconds": round(result.seconds, 3),
            "device": "cpu",
            "rows_per_second": round(result.rows_per_second, 1),
            "train_rows": train.height,
        },
    )


# >>> pytorch
def fit_torch(frame: pl.DataFrame, problem: Problem, params: dict, device=None) -> Candidate:
    from mlops_assets.core.serving.predictor import TORCH_CONFIG_FILE, TORCH_WEIGHTS_FILE
    from mlops_assets.core.training.torch_trainer import (
        NumericScaler,
        TorchPredictorNet,
        split_matrix,
        state_to_bytes,
        train_torch,
    )

    task = fitted_task(frame, problem)
    train, valid = _split(frame, "train"), _split(frame, "valid")
    valid = _early_stopping_rows(valid, problem, task)
    encoder = FeatureEncoder.fit(train, problem.categorical, problem.numeric)
    n_cat = len(problem.categorical)
    train_matrix = encoder.transform(train)
    scaler = NumericScaler.fit(train_matrix[:, n_cat:])

    def arrays(part: pl.DataFrame, matrix: np.ndarray | None = None):
        cat, num = split_matrix(
            encoder.transform(part) if matrix is None else matrix, n_cat, scaler
        )
        return cat, num, _labels(part, problem, task)

    cardinalities = [len(encoder.vocabularies[c]) for c in problem.categorical]
    result = train_torch(
        arrays(train, train_matrix),
        arrays(valid),
        cardinalities,
        params,
        device,
        head=task.torch_head,
        outputs=task.n_outputs,
        score=task.early_stopping_score,
    )
    net = TorchPredictorNet.from_result(result)

    def predict(part: pl.DataFrame) -> np.ndarray:
        cat, num, _ = arrays(part)
        return net.predict(cat, num)

    evaluated = _reports(predict, frame, problem, task)
    network = {"network": result.config, "scaler": {"mean": scaler.mean, "std": scaler.std}}
    if result.head is not None:  # absent for sigmoid: binary files stay as they were
        network["head"] = result.head
    return Candidate(
        files={
            TORCH_WEIGHTS_FILE: state_to_bytes(result.state),
            TORCH_CONFIG_FILE: json.dumps(network).encode(),
            ENCODER_FILE: json.dumps(encoder.to_dict()).encode(),
        },
        metadata={
            "framework": "torch",
            "params": params,
            **evaluated,
            "best_epoch": result.best_epoch,
            ("best_valid_auc" if task.kind == "binary" else "best_valid_score"): (
                result.best_valid_score
            ),
            "train_seconds": round(result.seconds, 3),
            "seconds_to_best_valid_auc": round(result.seconds_to_best, 3),
            "samples_per_second": round(result.samples_per_second, 1),
            "device": result.device,
            "train_rows": train.height,
        },
    )


# <<< pytorch
