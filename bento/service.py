"""The online prediction service: BentoML, typed requests, features from the online store,
the production model from the registry.

It imports only the framework-free core (never Dagster, never DuckDB), reads the registry's
production stage rather than a path, and swaps in a newly promoted model or a new online
store without a restart: a background thread polls both and replaces one reference.
"""

import gc
import json
import logging
import os
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import bentoml
from bentoml.exceptions import InvalidArgument
from pydantic import BaseModel, ConfigDict, Field

from mlops_assets.core.blob_store import LocalBlobStore
from mlops_assets.core.online_features import FlightRequest, OnlineFeatures, UnknownEntityError
from mlops_assets.core.predictor import load_predictor
from mlops_assets.core.profile_store import ProfileStore
from mlops_assets.core.registry import ModelRegistry
from mlops_assets.core.serving_profiler import ServingProfiler
from mlops_assets.dataset.problem import flight_key

_HERE = Path(__file__).resolve().parent
# A built Bento carries its model and online store in ./data; from the repo, ../data is used.
DATA_DIR = Path(
    os.environ.get("MLOPS_DATA_DIR")
    or (_HERE / "data" if (_HERE / "data").exists() else _HERE.parent / "data")
)
MODEL_NAME = os.environ.get("MLOPS_MODEL_NAME", "flight_delay")
RELOAD_SECONDS = float(os.environ.get("MLOPS_RELOAD_SECONDS", "2"))
# Serving profiles are flushed every PROFILE_SECONDS, from a uniform sample of at most
# PROFILE_MAX_ROWS rows per month and interval (all rows below that).
PROFILE_SECONDS = float(os.environ.get("MLOPS_PROFILE_SECONDS", "10"))
PROFILE_MAX_ROWS = int(os.environ.get("MLOPS_PROFILE_MAX_ROWS", "5000"))
PROFILING = os.environ.get("MLOPS_PROFILING", "on") != "off"  # off: for the overhead benchmark
MAX_BATCH = 1000
logger = logging.getLogger("mlops_assets.service")


class Flight(BaseModel):
    """What a caller knows two hours before departure."""

    model_config = ConfigDict(extra="forbid")
    carrier: str = Field(min_length=2, max_length=3, examples=["UA"])
    flight_number: int = Field(ge=1, le=9999, examples=[1545])
    origin: str = Field(pattern=r"^[A-Z]{3}$", examples=["EWR"])
    dest: str = Field(pattern=r"^[A-Z0-9]{3}$", examples=["IAH"])
    scheduled_departure: datetime = Field(
        description="Local wall-clock time at the origin", examples=["2013-12-20T17:30:00"]
    )
    tailnum: str | None = Field(default=None, max_length=10, examples=["N14228"])


class Flights(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flights: list[Flight] = Field(min_length=1, max_length=MAX_BATCH)


class Prediction(BaseModel):
    request_id: str
    delay_probability: float
    predicted_delayed: bool
    threshold: float
    model_version: int


class Predictions(BaseModel):
    predictions: list[Prediction]


class PredictionLog:
    """Append-only JSON lines, one per prediction: request id -> inputs, output, model version,
    training-set hash and git commit. One file per process, so replicas never interleave."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        self._file = (folder / f"predictions-{stamp}-{os.getpid()}.jsonl").open(
            "a", buffering=1 << 16
        )
        self._lock = threading.Lock()

    def write(self, records: list[dict]) -> None:
        lines = "".join(json.dumps(r, default=str) + "\n" for r in records)
        with self._lock:
            self._file.write(lines)

    def flush(self) -> None:
        with self._lock:
            self._file.flush()


class _Live:
    """The model and the feature store in use, replaced together as one reference."""

    def __init__(self, version, predictor, features: OnlineFeatures):
        self.version, self.predictor, self.features = version, predictor, features


@bentoml.service(
    name="flight_delay",
    http={"host": "127.0.0.1", "port": 3000},
    traffic={"timeout": 30},
    # Off by default on the hot path (measured in docs/benchmarks.md); turn on per deployment.
    logging={"access": {"enabled": False}},
    tracing={"sample_rate": 0.0},
)
class FlightDelay:
    def __init__(self) -> None:
        self.registry = ModelRegistry(LocalBlobStore(DATA_DIR / "registry"))
        self.live: _Live | None = None
        self.log = PredictionLog(DATA_DIR / "prediction_log" / MODEL_NAME)
        self.profiler = ServingProfiler(
            ProfileStore(LocalBlobStore(DATA_DIR)), MODEL_NAME, PROFILE_MAX_ROWS
        )
        self._refresh()
        threading.Thread(target=self._watch, daemon=True, name="model-watcher").start()
        if PROFILING:
            threading.Thread(target=self._profile, daemon=True, name="profiler").start()

    def _refresh(self) -> None:
        """Load the production version and current store if either changed."""
        version = self.registry.production(MODEL_NAME)
        if version is None:
            return
        root = DATA_DIR / "online_store"
        store_path = (
            root / (root / "CURRENT").read_text().strip() if (root / "CURRENT").exists() else None
        )
        live = self.live
        if live and live.version.version == version.version and live.features.path == store_path:
            return
        predictor = (
            live.predictor
            if live and live.version.version == version.version
            else load_predictor(self.registry, version)
        )
        features = (
            live.features
            if live and live.features.path == store_path
            else OnlineFeatures.open(root)
        )
        self.live = _Live(version, predictor, features)
        # The store and model are millions of long-lived objects: keep them out of the
        # cyclic GC, whose full passes over them stalled requests for ~150 ms (p99).
        gc.collect()
        gc.freeze()

    def _watch(self) -> None:
        while True:
            time.sleep(RELOAD_SECONDS)
            self.log.flush()
            try:
                self._refresh()
            except Exception:  # keep serving the model we have
                logger.exception("model-watcher: reload failed; still serving the loaded model")

    def _profile(self) -> None:
        """Flush serving profiles on a timer, off the request path."""
        while True:
            time.sleep(PROFILE_SECONDS)
            self.log.flush()
            self.profiler.flush()

    def __is_ready__(self) -> bool:
        return self.live is not None

    def _score(self, flights: list[Flight]) -> list[Prediction]:
        live = self.live
        if live is None:
            raise bentoml.exceptions.ServiceUnavailable("no production model loaded yet")
        requests = [FlightRequest(**f.model_dump()) for f in flights]
        try:
            rows = live.features.rows(requests)
        except UnknownEntityError as exc:
            raise InvalidArgument(f"{exc.field}: {exc}") from exc
        probabilities = live.predictor.predict_rows(rows)
        threshold = float(live.version.metadata["threshold"])
        lineage = live.version.metadata.get("lineage", {})
        predictions = [
            Prediction(
                request_id=uuid.uuid4().hex,
                delay_probability=float(p),
                predicted_delayed=bool(p >= threshold),
                threshold=threshold,
                model_version=live.version.version,
            )
            for p in probabilities
        ]
        at = time.time()
        months = [f.scheduled_departure.strftime("%Y-%m") for f in flights]
        for month in dict.fromkeys(months) if PROFILING else ():
            picked = [i for i, m in enumerate(months) if m == month]
            self.profiler.add(month, [rows[i] for i in picked], [probabilities[i] for i in picked])
        self.log.write(
            [
                {
                    "request_id": out.request_id,
                    "at": at,
                    "flight_id": flight_key(
                        flight.scheduled_departure.date(),
                        flight.carrier,
                        flight.flight_number,
                        flight.origin,
                    ),
                    "month": month,
                    "flight": flight.model_dump(mode="json"),
                    "delay_probability": out.delay_probability,
                    "model_version": out.model_version,
                    "training_set_hash": lineage.get("training_set_hash"),
                    "git_commit": lineage.get("git_commit"),
                }
                for flight, out, month in zip(flights, predictions, months, strict=True)
            ]
        )
        return predictions

    @bentoml.api(input_spec=Flight, output_spec=Prediction)
    async def predict(self, **flight) -> Prediction:
        """Delay probability for one flight. Async on purpose: half a millisecond of work runs
        on the event loop instead of paying a thread-pool hop (measured: +40% req/s)."""
        return self._score([Flight(**flight)])[0]

    @bentoml.api(input_spec=Flights, output_spec=Predictions)
    def predict_many(self, flights: list[Flight]) -> Predictions:
        """Delay probabilities for up to 1000 flights in one call."""
        return Predictions(predictions=self._score(flights))

    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH, max_latency_ms=50)
    def predict_batched(self, flights: list[Flight]) -> list[Prediction]:
        """Adaptive batching: concurrent callers' flights are scored together in one call."""
        return self._score(flights)
