"""Live quality: what the service predicted, joined with what actually happened.

The prediction log (JSON lines written by the service, one record per prediction) is the left
side; outcomes come from the warehouse once the month's arrivals are loaded, and from optional
feedback files (``request_id,is_delayed`` CSVs from an external system). Ids nobody logged are
counted and reported, never guessed at.
"""

import io
from pathlib import Path

import numpy as np
import polars as pl

from mlops_assets.core.blob_store import BlobStore
from mlops_assets.core.metrics import brier, roc_auc
from mlops_assets.core.prediction_log import log_prefix

LOG_SCHEMA = {
    "request_id": pl.String,
    "flight_id": pl.String,
    "month": pl.String,
    "delay_probability": pl.Float64,
    "model_version": pl.Int64,
}


def read_prediction_log(store: BlobStore, model: str, month: str) -> pl.DataFrame:
    """Every logged prediction of ``model`` for flights scheduled in ``month`` (YYYY-MM), from
    every service process's objects under ``prediction_log/<model>/``."""
    frames = []
    for key in store.list(log_prefix(model)):
        data = store.get(key) if key.endswith(".jsonl") else b""
        if data:
            frame = pl.read_ndjson(io.BytesIO(data), schema_overrides=LOG_SCHEMA)
            frames.append(frame.select(list(LOG_SCHEMA)))
    if not frames:
        return pl.DataFrame(schema=LOG_SCHEMA)
    return pl.concat(frames).filter(pl.col("month") == month).unique("request_id", keep="last")


def read_feedback(folder: Path) -> pl.DataFrame:
    """Outcomes reported by request id; malformed files raise naming the file and column."""
    schema = {"request_id": pl.String, "is_delayed": pl.Boolean}
    frames = []
    for path in sorted(folder.glob("*.csv")):
        frame = pl.read_csv(path, schema_overrides=schema)
        missing = set(schema) - set(frame.columns)
        if missing:
            raise ValueError(f"feedback file {path.name} lacks column(s) {sorted(missing)}")
        frames.append(frame.select(list(schema)))
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def daily_quality(labelled: pl.DataFrame) -> list[dict]:
    """AUC and Brier per flight date, from rows with ``flight_date``, probability and label."""
    rows = []
    for (day,), part in labelled.sort("flight_date").group_by("flight_date", maintain_order=True):
        y = part.get_column("is_delayed").cast(pl.Float64).to_numpy()
        p = part.get_column("delay_probability").to_numpy()
        rows.append(
            {
                "date": str(day),
                "rows": part.height,
                "roc_auc": roc_auc(y, p),
                "brier": brier(y, p),
                "delay_rate": float(y.mean()),
            }
        )
    return rows


def overall_quality(labelled: pl.DataFrame) -> dict:
    y = labelled.get_column("is_delayed").cast(pl.Float64).to_numpy()
    p = labelled.get_column("delay_probability").to_numpy()
    if not len(y):
        return {"rows": 0, "roc_auc": float("nan"), "brier": float("nan")}
    return {
        "rows": int(len(y)),
        "roc_auc": roc_auc(y, p),
        "brier": brier(y, p),
        "delay_rate": float(np.mean(y)),
    }
