"""Classification metrics without scikit-learn: AUC, log loss, Brier, precision/recall,
calibration, and per-slice AUC."""

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
