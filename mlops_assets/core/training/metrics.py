"""Model metrics without scikit-learn: classification (AUC, log loss, Brier, precision/recall,
calibration, per-slice AUC), regression (RMSE, MAE, R²) and multi-class (macro-F1, log loss,
accuracy)."""

import numpy as np

_EPS = 1e-15


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Mann-Whitney AUC with average ranks for ties; NaN when only one class is present."""
    y = np.asarray(y, dtype=bool)
    positives = int(y.sum())
    negatives = y.size - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    from scipy.stats import rankdata  # here: scipy.stats costs ~1 s at import

    ranks = rankdata(p)
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, _EPS, 1 - _EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


def precision_recall(y: np.ndarray, p: np.ndarray, threshold: float) -> tuple[float, float]:
    predicted = p >= threshold
    tp = float(np.sum(predicted & (y == 1)))
    precision = tp / max(float(predicted.sum()), 1.0)
    recall = tp / max(float(np.sum(y == 1)), 1.0)
    return precision, recall


def best_f1_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The threshold that maximizes F1, chosen on validation data, applied to test data."""
    best, best_f1 = 0.5, -1.0
    for threshold in np.linspace(0.05, 0.95, 91):
        precision, recall = precision_recall(y, p, threshold)
        f1 = 2 * precision * recall / max(precision + recall, 1e-12)
        if f1 > best_f1:
            best, best_f1 = float(threshold), f1
    return round(best, 4)


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            rows.append(
                {
                    "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                    "rows": int(mask.sum()),
                    "mean_predicted": float(p[mask].mean()),
                    "observed_rate": float(y[mask].mean()),
                }
            )
    return rows


def classification_report(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    precision, recall = precision_recall(y, p, threshold)
    return {
        "roc_auc": roc_auc(y, p),
        "log_loss": log_loss(y, p),
        "brier": brier(y, p),
        "precision": precision,
        "recall": recall,
        "threshold": threshold,
        "rows": int(y.size),
        "positive_rate": float(np.mean(y)),
    }


def slice_auc(y: np.ndarray, p: np.ndarray, groups: list) -> dict[str, dict]:
    """AUC and size per value of a slicing column."""
    groups = np.asarray(groups, dtype=object)
    out = {}
    for value in sorted({g for g in groups if g is not None}):
        mask = groups == value
        out[str(value)] = {"rows": int(mask.sum()), "roc_auc": roc_auc(y[mask], p[mask])}
    return out


# regression -----------------------------------------------------------------------------------
def rmse(y: np.ndarray, prediction: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(prediction) - np.asarray(y)) ** 2)))


def mae(y: np.ndarray, prediction: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(prediction) - np.asarray(y))))


def r2(y: np.ndarray, prediction: np.ndarray) -> float:
    """1 - residual / total sum of squares; NaN for a constant label."""
    total = float(np.sum((y - np.mean(y)) ** 2))
    return float(1 - np.sum((y - prediction) ** 2) / total) if total > 0 else float("nan")


def regression_report(y: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    return {
        "rmse": rmse(y, prediction),
        "mae": mae(y, prediction),
        "r2": r2(y, prediction),
        "rows": int(y.size),
        "mean_label": float(np.mean(y)) if y.size else float("nan"),
    }


# multiclass -----------------------------------------------------------------------------------
def macro_f1(y: np.ndarray, predicted: np.ndarray) -> float:
    """Unweighted mean of per-class F1 over the classes present in ``y`` or ``predicted``
    (class indices; -1 marks a class the model never saw, which it can only get wrong)."""
    y, predicted = np.asarray(y), np.asarray(predicted)
    scores = []
    for c in np.union1d(y, predicted):
        tp = float(np.sum((predicted == c) & (y == c)))
        fp = float(np.sum((predicted == c) & (y != c)))
        fn = float(np.sum((predicted != c) & (y == c)))
        scores.append(2 * tp / max(2 * tp + fp + fn, 1.0))
    return float(np.mean(scores)) if scores else float("nan")


def multiclass_log_loss(y: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean -log p(true class); an unseen class (-1) counts as probability ~0."""
    y = np.asarray(y)
    p = np.full(y.size, _EPS)
    seen = y >= 0
    p[seen] = probabilities[np.flatnonzero(seen), y[seen]]
    return float(-np.mean(np.log(np.clip(p, _EPS, 1.0))))


def multiclass_report(y: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    predicted = np.argmax(probabilities, axis=1)
    return {
        "macro_f1": macro_f1(y, predicted),
        "log_loss": multiclass_log_loss(y, probabilities),
        "accuracy": float(np.mean(predicted == y)) if y.size else float("nan"),
        "rows": int(y.size),
    }
