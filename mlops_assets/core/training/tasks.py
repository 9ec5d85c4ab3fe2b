"""The kind of question a model answers, chosen by ``TASK_TYPE`` in the problem contract.

Three kinds: ``binary`` (a boolean label; scores are P(positive)), ``regression`` (a number;
scores are the predicted value) and ``multiclass`` (one of several classes, learnt from the
label values seen in training; scores are an (n, k) matrix of class probabilities, columns in
the order of ``classes``). Everything that differs between them lives here: which labels fit,
the target the models learn, their objectives, the metrics and the gate metric with its
direction, the naive baseline, per-slice quality, the decision threshold, what one served
prediction holds, live quality and what serving profiles record for prediction drift. Training,
evaluation, the gate, serving and monitoring call a ``Task`` instead of branching on the kind.
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import polars as pl

from mlops_assets.core.training import metrics
from mlops_assets.dataset import problem

TASK_TYPES = ("binary", "regression", "multiclass")
# Direction of every metric a report may hold: the gate and the monitoring policy read it.
HIGHER_IS_BETTER = {
    "roc_auc": True,
    "log_loss": False,
    "brier": False,
    "precision": True,
    "recall": True,
    "rmse": False,
    "mae": False,
    "r2": True,
    "macro_f1": True,
    "accuracy": True,
}
CONTRACT = "mlops_assets/dataset/problem.py"


def _series(labels) -> pl.Series:
    return labels if isinstance(labels, pl.Series) else pl.Series("label", labels)


def _label_error(kind: str, dtype, sample: list, hint: str) -> ValueError:
    return ValueError(
        f"label '{problem.LABEL}' has type {dtype} (e.g. {sample}), which does not fit "
        f"TASK_TYPE = {kind!r} in {CONTRACT}: {hint}"
    )


class Task(ABC):
    """What every kind of task answers; one subclass per kind."""

    kind: str = ""
    gate_metric: str = ""
    higher_is_better: bool = True
    slice_metric: str = ""
    # dtype of labels reported from outside (feedback files)
    label_dtype: type[pl.DataType] = pl.Float64
    # (header, report key, format) of the metrics table in model cards and evaluations
    report_columns: tuple[tuple[str, str, str], ...] = ()
    # metrics shown per day of live traffic, and the one the monitoring policy judges
    live_metrics: tuple[str, ...] = ()
    torch_head: str = ""

    def __init__(self, classes: Sequence = ()):
        self.classes = tuple(str(c) for c in classes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(classes={list(self.classes)})"

    # labels -------------------------------------------------------------------------------
    @abstractmethod
    def check_labels(self, labels) -> None:
        """Raise a ValueError naming the label and TASK_TYPE when the label's type does not
        fit this kind of task (called before training)."""

    def fitted(self, train_labels) -> "Task":
        """The task with what training learns about the label (multiclass: its classes)."""
        return self

    def targets(self, labels) -> np.ndarray:
        """Labels as the numbers the models learn and the metrics read."""
        return _series(labels).cast(pl.Float64).to_numpy()

    def trainable(self, y: np.ndarray) -> np.ndarray:
        """Rows a model can learn or early-stop from (multiclass: classes seen in training)."""
        return np.ones(len(y), dtype=bool)

    def metadata(self) -> dict:
        """Recorded with every model version: what ``current_task(metadata)`` rebuilds from."""
        return {"task": self.kind}

    def label_summary_query(self, table: str, label: str) -> str:
        """SQL giving (rows, mean of the label or NULL, distinct label values) of a mart."""
        return f"SELECT count(*), avg({label}::double), count(DISTINCT {label}) FROM {table}"

    def label_summary_problem(self, rows: int, mean: float | None, distinct: int) -> str | None:
        """What is wrong with a mart's label as a whole (None: nothing)."""
        if not rows or distinct < 2:
            return f"label has {distinct} distinct value(s) over {rows} rows: nothing to learn"
        return None

    # training -----------------------------------------------------------------------------
    @property
    def n_outputs(self) -> int:
        """Width of the model's output: one score per row, or one per class."""
        return 1

    @abstractmethod
    def lightgbm_objective(self) -> dict:
        """LightGBM's objective parameters for this kind of task."""

    @abstractmethod
    def early_stopping_score(self, y: np.ndarray, scores: np.ndarray) -> float:
        """Validation score for early stopping; higher is better."""

    def decision_metadata(self, y_valid: np.ndarray, scores_valid: np.ndarray) -> dict:
        """What is chosen on validation and applied unchanged to test and serving."""
        return {}

    # evaluation ---------------------------------------------------------------------------
    @abstractmethod
    def report(self, y: np.ndarray, scores: np.ndarray, metadata: dict) -> dict:
        """The task's metrics of ``scores`` against targets ``y``."""

    @abstractmethod
    def baseline(self, frame: pl.DataFrame, train_y: np.ndarray, columns: Sequence[str]):
        """(scores, metadata) of the naive baseline on ``frame``, learnt from ``train_y``."""

    def baseline_report(
        self, frame: pl.DataFrame, label: str, train_y: np.ndarray, columns: Sequence[str]
    ) -> dict:
        """The task's metrics of the naive baseline on ``frame`` against its ``label``: what
        every candidate must beat."""
        scores, metadata = self.baseline(frame, train_y, columns)
        return self.report(self.targets(frame.get_column(label)), scores, metadata)

    def slices(self, y: np.ndarray, scores: np.ndarray, groups: list) -> dict[str, dict]:
        """Rows and ``slice_metric`` per value of a slicing column."""
        groups = np.asarray(groups, dtype=object)
        out = {}
        for value in sorted({g for g in groups if g is not None}):
            mask = groups == value
            out[str(value)] = {
                "rows": int(mask.sum()),
                self.slice_metric: self.report(y[mask], scores[mask], {})[self.slice_metric],
            }
        return out

    def better(self, score: float, reference: float, margin: float, metric: str = "") -> bool:
        """Whether ``score`` beats ``reference`` by ``margin`` in the metric's direction."""
        if HIGHER_IS_BETTER.get(metric or self.gate_metric, self.higher_is_better):
            return score >= reference + margin
        return score <= reference - margin

    # serving ------------------------------------------------------------------------------
    @abstractmethod
    def output_fields(self) -> dict[str, type]:
        """The fields of one served prediction."""

    @abstractmethod
    def outputs(self, scores, metadata: dict) -> list[dict]:
        """One dict per row of ``scores``, with exactly ``output_fields``' keys; ``metadata``
        is the model version's (threshold, classes)."""

    @abstractmethod
    def live_report(self, y: np.ndarray, scores: np.ndarray) -> dict:
        """Live quality of logged scores against outcomes that came back."""


class BinaryTask(Task):
    kind = "binary"
    gate_metric = "roc_auc"
    higher_is_better = True
    slice_metric = "roc_auc"
    label_dtype = pl.Boolean
    report_columns = (
        ("ROC AUC", "roc_auc", ".4f"),
        ("log loss", "log_loss", ".4f"),
        ("Brier", "brier", ".4f"),
        ("precision", "precision", ".3f"),
        ("recall", "recall", ".3f"),
        ("threshold", "threshold", ".2f"),
        ("rows", "rows", ","),
    )
    live_metrics = ("roc_auc", "brier")
    torch_head = "sigmoid"

    def check_labels(self, labels) -> None:
        s = _series(labels)
        if s.dtype == pl.Boolean:
            return
        values = set(s.drop_nulls().unique().to_list())
        if s.dtype.is_integer() and values <= {0, 1}:
            return
        hint = "a binary label is a boolean (or 0/1)"
        hint += "; a number to predict needs 'regression'" if s.dtype.is_numeric() else ""
        hint += "; a label with several classes needs 'multiclass'" if len(values) > 2 else ""
        raise _label_error(self.kind, s.dtype, sorted(values, key=str)[:5], hint)

    def label_summary_problem(self, rows, mean, distinct) -> str | None:
        if not rows or not 0 < (mean or 0) < 1:
            return f"label rate {mean} over {rows} rows is not in (0, 1)"
        return None

    def lightgbm_objective(self) -> dict:
        return {"objective": "binary", "metric": "auc"}

    def early_stopping_score(self, y, scores) -> float:
        return metrics.roc_auc(y, scores)

    def decision_metadata(self, y_valid, scores_valid) -> dict:
        return {"threshold": metrics.best_f1_threshold(y_valid, scores_valid)}

    def report(self, y, scores, metadata) -> dict:
        return metrics.classification_report(y, scores, metadata.get("threshold", 0.5))

    def baseline(self, frame, train_y, columns):
        prior = float(np.mean(train_y))
        expr = pl.coalesce([pl.col(c) for c in columns] + [pl.lit(prior)])
        return frame.select(expr.cast(pl.Float64)).to_series().to_numpy(), {"threshold": prior}

    def slices(self, y, scores, groups) -> dict[str, dict]:
        return metrics.slice_auc(y, scores, groups)

    def output_fields(self) -> dict[str, type]:
        return {"probability": float, "predicted_label": bool, "threshold": float}

    def outputs(self, scores, metadata) -> list[dict]:
        threshold = float(metadata["threshold"])
        return [
            {
                "probability": float(p),
                "predicted_label": bool(p >= threshold),
                "threshold": threshold,
            }
            for p in np.asarray(scores, dtype=np.float64)
        ]

    def live_report(self, y, scores) -> dict:
        return {
            "roc_auc": metrics.roc_auc(y, scores),
            "brier": metrics.brier(y, scores),
            "label_rate": float(np.mean(y)),
        }


class RegressionTask(Task):
    kind = "regression"
    gate_metric = "rmse"
    higher_is_better = False
    slice_metric = "rmse"
    label_dtype = pl.Float64
    report_columns = (
        ("RMSE", "rmse", ".4f"),
        ("MAE", "mae", ".4f"),
        ("R²", "r2", ".4f"),
        ("mean label", "mean_label", ".3f"),
        ("rows", "rows", ","),
    )
    live_metrics = ("rmse", "mae")
    torch_head = "linear"

    def check_labels(self, labels) -> None:
        s = _series(labels)
        if s.dtype.is_numeric():
            return
        hint = "a regression label is a number"
        if s.dtype == pl.Boolean:
            hint += "; a yes/no label needs 'binary'"
        elif s.dtype in (pl.String, pl.Categorical) or isinstance(s.dtype, pl.Enum):
            hint += "; a label naming classes needs 'multiclass'"
        raise _label_error(self.kind, s.dtype, s.drop_nulls().head(3).to_list(), hint)

    def lightgbm_objective(self) -> dict:
        return {"objective": "regression", "metric": "rmse"}

    def early_stopping_score(self, y, scores) -> float:
        return -metrics.rmse(y, scores)

    def report(self, y, scores, metadata) -> dict:
        return metrics.regression_report(y, np.asarray(scores, dtype=np.float64))

    def baseline(self, frame, train_y, columns):
        """The first non-null of ``columns`` (persistence: today's value), else the mean."""
        mean = float(np.mean(train_y))
        expr = pl.coalesce([pl.col(c) for c in columns] + [pl.lit(mean)])
        return frame.select(expr.cast(pl.Float64)).to_series().to_numpy(), {}

    def output_fields(self) -> dict[str, type]:
        return {"prediction": float}

    def outputs(self, scores, metadata) -> list[dict]:
        return [{"prediction": float(v)} for v in np.asarray(scores, dtype=np.float64)]

    def live_report(self, y, scores) -> dict:
        return {
            "rmse": metrics.rmse(y, scores),
            "mae": metrics.mae(y, scores),
            "mean_label": float(np.mean(y)),
        }


class MulticlassTask(Task):
    kind = "multiclass"
    gate_metric = "macro_f1"
    higher_is_better = True
    slice_metric = "macro_f1"
    label_dtype = pl.String
    report_columns = (
        ("macro-F1", "macro_f1", ".4f"),
        ("log loss", "log_loss", ".4f"),
        ("accuracy", "accuracy", ".4f"),
        ("rows", "rows", ","),
    )
    live_metrics = ("accuracy", "macro_f1")
    torch_head = "softmax"

    def check_labels(self, labels) -> None:
        s = _series(labels)
        if s.dtype.is_integer() or s.dtype in (pl.String, pl.Categorical):
            return
        if isinstance(s.dtype, pl.Enum):
            return
        hint = "a multiclass label is a string or an integer class code"
        if s.dtype == pl.Boolean:
            hint += "; a yes/no label needs 'binary'"
        elif s.dtype.is_float():
            hint += "; a measured number needs 'regression'"
        raise _label_error(self.kind, s.dtype, s.drop_nulls().head(3).to_list(), hint)

    def fitted(self, train_labels) -> "MulticlassTask":
        values = sorted(_series(train_labels).drop_nulls().unique().to_list())
        return MulticlassTask(values)

    def targets(self, labels) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.classes)}
        values = _series(labels).cast(pl.String).to_list()
        return np.array([index.get(v, -1) for v in values], dtype=np.int64)

    def trainable(self, y) -> np.ndarray:
        return np.asarray(y) >= 0

    def metadata(self) -> dict:
        return {"task": self.kind, "classes": list(self.classes)}

    def label_summary_query(self, table: str, label: str) -> str:
        return f"SELECT count(*), NULL, count(DISTINCT {label}) FROM {table}"

    @property
    def n_outputs(self) -> int:
        return len(self.classes)

    def lightgbm_objective(self) -> dict:
        return {"objective": "multiclass", "num_class": self.n_outputs, "metric": "multi_logloss"}

    def early_stopping_score(self, y, scores) -> float:
        return -metrics.multiclass_log_loss(y, scores)

    def report(self, y, scores, metadata) -> dict:
        return metrics.multiclass_report(
            y, np.asarray(scores, dtype=np.float64).reshape(len(y), -1)
        )

    def baseline(self, frame, train_y, columns):
        """The training class frequencies for every row: it predicts the most frequent class."""
        train_y = np.asarray(train_y)
        counts = np.bincount(train_y[train_y >= 0], minlength=self.n_outputs).astype(np.float64)
        return np.tile(counts / counts.sum(), (frame.height, 1)), {}

    def output_fields(self) -> dict[str, type]:
        return {"predicted_class": str, "probabilities": dict[str, float]}

    def outputs(self, scores, metadata) -> list[dict]:
        classes = [str(c) for c in metadata.get("classes", self.classes)]
        matrix = np.asarray(scores, dtype=np.float64).reshape(-1, len(classes))
        return [
            {
                "predicted_class": classes[int(np.argmax(row))],
                "probabilities": {c: float(p) for c, p in zip(classes, row, strict=True)},
            }
            for row in matrix
        ]

    def live_report(self, y, scores) -> dict:
        predicted = np.argmax(np.asarray(scores, dtype=np.float64).reshape(len(y), -1), axis=1)
        return {
            "accuracy": float(np.mean(predicted == y)) if len(y) else float("nan"),
            "macro_f1": metrics.macro_f1(y, predicted),
        }


KINDS: dict[str, type[Task]] = {
    "binary": BinaryTask,
    "regression": RegressionTask,
    "multiclass": MulticlassTask,
}


def task_for(kind: str, classes: Sequence = ()) -> Task:
    """The task of a kind; a ValueError names the allowed kinds."""
    if kind not in KINDS:
        raise ValueError(f"TASK_TYPE {kind!r} in {CONTRACT} is not one of {list(TASK_TYPES)}")
    return KINDS[kind](classes)


def current_task(metadata: dict | None = None) -> Task:
    """The task of the problem contract, or of a model version when its metadata is given
    (its kind and, for multiclass, the classes it learnt)."""
    metadata = metadata or {}
    kind = metadata.get("task", problem.TASK_TYPE)
    return task_for(kind, metadata.get("classes", ()))


def score_columns(scores) -> dict[str, list]:
    """What a profile records of a batch's scores, for prediction drift: the score itself
    (probability or value) for one score per row; for class probabilities the highest
    probability and the predicted class index (a category)."""
    array = np.asarray(scores, dtype=np.float64)
    if array.ndim == 1:
        return {"prediction": array.tolist()}
    return {
        "prediction": array.max(axis=1).tolist(),
        "predicted_class": [str(i) for i in array.argmax(axis=1)],
    }


def score_fields(score) -> dict:
    """``score_columns`` for one row's score (a float, or a row of class probabilities)."""
    array = np.asarray(score, dtype=np.float64)
    if array.ndim == 0:
        return {"prediction": float(array)}
    return {"prediction": float(array.max()), "predicted_class": str(int(array.argmax()))}
