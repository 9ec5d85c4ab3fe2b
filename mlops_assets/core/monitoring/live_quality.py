"""Live quality: what the service predicted, joined with what actually happened.

The prediction log (JSON lines written by the service, one record per prediction) is the left
side; outcomes come from the warehouse once the month's labels are known, and from optional
feedback files (``request_id,<label>`` CSVs from an external system). Ids nobody logged are
counted and reported, never guessed at.

Each record carries ``entity_id`` (the row's ``ENTITY_KEY`` value) and ``score`` (a float, or a
list of class probabilities for multiclass). Logs written before those fields existed name them
``flight_id`` and ``delay_probability``; both spellings are read. Quality is the task's own
(core/training/tasks.py): AUC and Brier for binary, RMSE and MAE for regression, accuracy and
macro-F1 for multiclass, per day and overall.
"""

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from mlops_assets.core.blob_store import BlobStore
from mlops_assets.core.serving.prediction_log import log_prefix
from mlops_assets.core.training.tasks import Task, current_task
from mlops_assets.dataset import problem

LOG_SCHEMA = {
    "request_id": pl.String,
    "entity_id": pl.String,
    "month": pl.String,
    "model_version": pl.Int64,
}
# the fields' names before entity_id and score: read when the new ones are absent
LEGACY_FIELDS = {"entity_id": "flight_id", "score": "delay_probability"}


def _normalize(frame: pl.DataFrame, requests: bool = False) -> pl.DataFrame:
    """One log object's records with ``entity_id`` and ``score``, whichever names it used
    (and with ``requests``, each record's request as JSON text)."""
    for field, legacy in LEGACY_FIELDS.items():
        present = [c for c in (field, legacy) if c in frame.columns]
        if not present:
            frame = frame.with_columns(pl.lit(None).alias(field))
        elif len(present) == 2 and frame.schema[field] == frame.schema[legacy]:
            frame = frame.with_columns(pl.coalesce(field, legacy).alias(field))
        elif present == [legacy]:
            frame = frame.rename({legacy: field})
    frame = frame.with_columns(
        pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c)
        for c, t in LOG_SCHEMA.items()
    )
    if not requests:
        return frame.select(*LOG_SCHEMA, "score")
    if "request" in frame.columns and frame.schema["request"] == pl.Struct:
        request = pl.col("request").struct.json_encode()
    else:
        request = pl.lit(None, pl.String)
    return frame.select(*LOG_SCHEMA, "score", request.alias("request"))


def read_prediction_log(
    store: BlobStore, model: str, month: str, requests: bool = False
) -> pl.DataFrame:
    """Every logged prediction of ``model`` for rows dated in ``month`` (YYYY-MM), from every
    service process's objects under ``prediction_log/<model>/``: request_id, entity_id,
    month, model_version and score (Float64, or List(Float64) for class probabilities); with
    ``requests``, also ``request``: the inputs as JSON text (training-serving skew reads them)."""
    frames = []
    for key in store.list(log_prefix(model)):
        data = store.get(key) if key.endswith(".jsonl") else b""
        if data:
            records = pl.read_ndjson(io.BytesIO(data), infer_schema_length=None)
            frames.append(_normalize(records, requests))
    if not frames:
        extra = {"request": pl.String} if requests else {}
        return pl.DataFrame(schema={**LOG_SCHEMA, "score": pl.Float64, **extra})
    merged = pl.concat(frames, how="vertical_relaxed")
    if merged.schema["score"] in (pl.Int64, pl.Null):
        merged = merged.with_columns(pl.col("score").cast(pl.Float64))
    return merged.filter(pl.col("month") == month).unique("request_id", keep="last")


def read_feedback(
    folder: Path, label: str = problem.LABEL, dtype: type[pl.DataType] = pl.Boolean
) -> pl.DataFrame:
    """Outcomes reported by request id; malformed files raise naming the file and column."""
    schema = {"request_id": pl.String, label: dtype}
    frames = []
    for path in sorted(folder.glob("*.csv")):
        frame = pl.read_csv(path, schema_overrides=schema)
        missing = set(schema) - set(frame.columns)
        if missing:
            raise ValueError(f"feedback file {path.name} lacks column(s) {sorted(missing)}")
        frames.append(frame.select(list(schema)))
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def _arrays(part: pl.DataFrame, task: Task, label: str) -> tuple[np.ndarray, np.ndarray]:
    y = task.targets(part.get_column(label))
    score = part.get_column("score")
    if score.dtype.is_nested():
        return y, np.array(score.to_list(), dtype=np.float64).reshape(part.height, -1)
    return y, score.cast(pl.Float64).to_numpy()


def daily_quality(
    labelled: pl.DataFrame,
    task: Task | None = None,
    label: str = problem.LABEL,
    date_column: str = "event_date",
) -> list[dict]:
    """The task's live metrics per day, from rows with a date, a score and the label."""
    task = task or current_task()
    rows = []
    for (day,), part in labelled.sort(date_column).group_by(date_column, maintain_order=True):
        y, scores = _arrays(part, task, label)
        rows.append({"date": str(day), "rows": part.height, **task.live_report(y, scores)})
    return rows


def overall_quality(
    labelled: pl.DataFrame, task: Task | None = None, label: str = problem.LABEL
) -> dict:
    """The task's live metrics over every labelled prediction (NaN with none)."""
    task = task or current_task()
    if not labelled.height:
        return {"rows": 0, **{m: float("nan") for m in task.live_metrics}}
    y, scores = _arrays(labelled, task, label)
    return {"rows": int(len(y)), **task.live_report(y, scores)}


@dataclass(frozen=True)
class QualityLimit:
    """The live metric the monitoring policy judges and the value it must stay on the right
    side of: at least ``value`` when higher is better, at most ``value`` otherwise."""

    metric: str
    value: float
    higher_is_better: bool

    def holds(self, observed: float) -> bool:
        if self.higher_is_better:
            return observed >= self.value
        return observed <= self.value

    def __str__(self) -> str:
        return f"{'floor' if self.higher_is_better else 'ceiling'} {self.value:.4g}"
