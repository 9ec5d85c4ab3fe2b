"""The online prediction service: BentoML, typed requests, features from the online store,
the production model from the registry.

It imports only the framework-free core (never Dagster, never DuckDB), reads the registry's
production stage rather than a path, and swaps in a newly promoted model or a new online
store without a restart: a background thread polls both and replaces one reference.
"""

import asyncio
import gc
import logging
import os
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated

import bentoml
from bentoml.exceptions import InvalidArgument
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from mlops_assets.core.blob_store import DATA_PREFIX, REGISTRY_PREFIX, blob_store_for
from mlops_assets.core.graceful_drain import install_sigterm_drain
from mlops_assets.core.http_errors import (
    ClientErrorLogFilter,
    ErrorEnvelope,
    ServingState,
)
from mlops_assets.core.online_features import FlightRequest, OnlineFeatures, UnknownEntityError
from mlops_assets.core.prediction_log import PredictionLog
from mlops_assets.core.predictor import load_predictor
from mlops_assets.core.profile_store import ProfileStore
from mlops_assets.core.registry import ModelRegistry
from mlops_assets.core.serving_profiler import ServingProfiler
from mlops_assets.dataset.problem import flight_key

_HERE = Path(__file__).resolve().parent


def data_dir() -> Path:
    """The data folder: MLOPS_DATA_DIR, else ./data of a built Bento, else the repo's data/.

    Refused, with the fix, when relative (``bentoml serve`` runs inside its working directory,
    so a relative folder would silently point into bento/) or missing (the service would wait
    for a model that can never come)."""
    given = os.environ.get("MLOPS_DATA_DIR")
    if given and not Path(given).is_absolute():
        raise RuntimeError(
            f"MLOPS_DATA_DIR={given!r} is relative, and `bentoml serve` resolves it inside its "
            f"working directory ({Path.cwd()}); give an absolute path, e.g. "
            f"MLOPS_DATA_DIR=$PWD/{given}"
        )
    path = Path(given) if given else _HERE / "data"
    if not given and not path.exists():
        path = _HERE.parent / "data"
    if not path.is_dir():
        raise RuntimeError(
            f"no data folder at {path}: run `make demo` (or materialize a model) first, or point "
            "MLOPS_DATA_DIR at the folder that holds registry/ and online_store/"
        )
    return path


DATA_DIR = data_dir()
MODEL_NAME = os.environ.get("MLOPS_MODEL_NAME", "flight_delay")
RELOAD_SECONDS = float(os.environ.get("MLOPS_RELOAD_SECONDS", "2"))
# Serving profiles are flushed every PROFILE_SECONDS, from a uniform sample of at most
# PROFILE_MAX_ROWS rows per month and interval (all rows below that).
PROFILE_SECONDS = float(os.environ.get("MLOPS_PROFILE_SECONDS", "10"))
PROFILE_MAX_ROWS = int(os.environ.get("MLOPS_PROFILE_MAX_ROWS", "5000"))
PROFILING = os.environ.get("MLOPS_PROFILING", "on") != "off"  # off: for the overhead benchmark
MAX_BATCH = 1000
# Requests of at least this many flights are looked up and scored column-wise (one frame):
# below it the per-row path is faster (measured crossover 300-1000 rows, torch in production).
FRAME_MIN_ROWS = 500
# Requests in flight past which the service answers 429 instead of queueing without bound;
# /livez, /readyz and /metrics are never limited (docs/reliability.md has the figures).
MAX_CONCURRENCY = int(os.environ.get("MLOPS_MAX_CONCURRENCY", "32"))  # 0: no limit
TRAFFIC = {"timeout": 30, **({"max_concurrency": MAX_CONCURRENCY} if MAX_CONCURRENCY else {})}
# On SIGTERM: new connections are refused at once, open ones are served (each closed after its
# response) and /readyz says 503 for this long; then the server finishes what is in flight.
# 0: no drain, BentoML's own shutdown (core/graceful_drain.py says what that loses).
DRAIN_SECONDS = float(os.environ.get("MLOPS_DRAIN_SECONDS", "3"))
API_PATHS = frozenset({"/predict", "/predict_many", "/predict_batched"})
STATE = ServingState()
# A child of BentoML's logger, so that the service's lines go where BentoML's go.
logger = logging.getLogger("bentoml").getChild("flight_delay")
SERVED_VERSION = bentoml.metrics.Gauge(
    name="mlops_served_model_version", documentation="Registry version of the model answering"
)
RELOAD_FAILURES = bentoml.metrics.Counter(
    name="mlops_model_reload_failures",
    documentation="Reloads refused (e.g. a model file failing its checksum); the loaded model "
    "kept serving",
)
# A client's mistake is logged as one INFO line, not as an ERROR with a traceback.
logging.getLogger("bentoml._internal.server.http_app").addFilter(ClientErrorLogFilter())


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
    # OpenAPI 3.0 (what BentoML publishes) spells "or null" as `nullable`, not a null type
    tailnum: Annotated[
        str | None,
        WithJsonSchema({"type": "string", "maxLength": 10, "nullable": True}),
    ] = Field(default=None, max_length=10, examples=["N14228"])


class Flights(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flights: list[Flight] = Field(min_length=1, max_length=MAX_BATCH)


class Prediction(BaseModel):
    request_id: str
    delay_probability: float
    predicted_delayed: bool
    threshold: float
    model_version: int
    stale_minutes: int = Field(
        description="How far the decision time (2 h before departure) lies past the latest "
        "data in the online store: 0 when the store covers it; otherwise the history features "
        "are those known at the store's horizon"
    )


class Predictions(BaseModel):
    predictions: list[Prediction]


class _Live:
    """The model and the feature store in use, replaced together as one reference."""

    def __init__(self, version, predictor, features: OnlineFeatures):
        self.version, self.predictor, self.features = version, predictor, features


@bentoml.service(
    name="flight_delay",
    # No host here: a built Bento must listen on every interface inside its container;
    # `make serve` and the tests pass --host 127.0.0.1.
    http={"port": 3000},
    traffic=TRAFFIC,
    # Off by default on the hot path (measured in docs/benchmarks.md); turn on per deployment.
    logging={"access": {"enabled": False}},
    tracing={"sample_rate": 0.0},
)
class FlightDelay:
    def __init__(self) -> None:
        self.registry = ModelRegistry(blob_store_for(DATA_DIR / "registry", REGISTRY_PREFIX))
        self.live: _Live | None = None
        data_store = blob_store_for(DATA_DIR, DATA_PREFIX)  # profiles and the prediction log
        self.log = PredictionLog(
            data_store,
            MODEL_NAME,
            enabled=os.environ.get("MLOPS_PREDICTION_LOG", "on") != "off",
            redact=os.environ.get("MLOPS_PREDICTION_LOG_REDACT", ""),
        )
        self.profiler = ServingProfiler(ProfileStore(data_store), MODEL_NAME, PROFILE_MAX_ROWS)
        try:
            self._refresh()
        except Exception as exc:  # not ready, and /readyz says why; the watcher tries again
            STATE.not_ready_reason = f"loading the production model failed: {exc}"
            logger.warning("%s", STATE.not_ready_reason)
        threading.Thread(target=self._watch, daemon=True, name="model-watcher").start()
        threading.Thread(target=self._flush_log, daemon=True, name="prediction-log").start()
        if PROFILING:
            threading.Thread(target=self._profile, daemon=True, name="profiler").start()
        if DRAIN_SECONDS > 0 and not install_sigterm_drain(
            lambda: setattr(STATE, "draining", True), DRAIN_SECONDS, logger
        ):
            logger.warning("SIGTERM drain not installed; the server's own shutdown applies")

    @bentoml.on_shutdown
    def flush_on_shutdown(self) -> None:
        """The last profile interval and the buffered prediction log reach disk on shutdown."""
        self.log.flush()
        if PROFILING:
            self.profiler.flush()
        logger.info("flushed the prediction log and serving profiles")

    def _refresh(self) -> None:
        """Load the production version and current store if either changed."""
        version = self.registry.production(MODEL_NAME)
        if version is None:
            STATE.not_ready_reason = (
                f"no production version of '{MODEL_NAME}' in the registry at "
                f"{DATA_DIR / 'registry'}: promote one (make demo, or mlops-registry promote)"
            )
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
        STATE.ready = True
        SERVED_VERSION.set(version.version)
        # The store and model are millions of long-lived objects: keep them out of the
        # cyclic GC, whose full passes over them stalled requests for ~150 ms (p99).
        gc.collect()
        gc.freeze()

    def _watch(self) -> None:
        while True:
            time.sleep(RELOAD_SECONDS)
            try:
                self._refresh()
                STATE.reload_error = None
            except Exception as exc:  # keep serving the model we have, and say so
                RELOAD_FAILURES.inc()
                if STATE.reload_error != str(exc):
                    logger.error("model reload failed; still serving the loaded model: %s", exc)
                STATE.reload_error = str(exc)

    def _flush_log(self) -> None:
        """The prediction log reaches its store on its own timer: a slow or unreachable store
        (S3) never delays a model swap."""
        while True:
            time.sleep(RELOAD_SECONDS)
            self.log.flush()

    def _profile(self) -> None:
        """Flush serving profiles on a timer, off the request path."""
        while True:
            time.sleep(PROFILE_SECONDS)
            self.profiler.flush()

    def __is_ready__(self) -> bool:
        return self.live is not None

    def _score(self, flights: list[Flight]) -> list[Prediction]:
        live = self.live
        if live is None:
            raise bentoml.exceptions.ServiceUnavailable(STATE.not_ready_reason)
        requests = [FlightRequest(**f.model_dump()) for f in flights]
        try:
            if len(requests) >= FRAME_MIN_ROWS:  # column-wise: lookup and model in batches
                rows = live.features.frame(requests)
                probabilities = live.predictor.predict_proba(rows)
            else:
                rows = live.features.rows(requests)
                probabilities = live.predictor.predict_rows(rows)
        except UnknownEntityError as exc:
            raise InvalidArgument(f"{exc.field}: {exc}") from exc
        threshold = float(live.version.metadata["threshold"])
        lineage = live.version.metadata.get("lineage", {})
        predictions = [
            Prediction(
                request_id=uuid.uuid4().hex,
                delay_probability=float(p),
                predicted_delayed=bool(p >= threshold),
                threshold=threshold,
                model_version=live.version.version,
                stale_minutes=live.features.stale_minutes(r),
            )
            for p, r in zip(probabilities, requests, strict=True)
        ]
        at = time.time()
        months = [f.scheduled_departure.strftime("%Y-%m") for f in flights]
        for month in dict.fromkeys(months) if PROFILING else ():
            picked = [i for i, m in enumerate(months) if m == month]
            self.profiler.add(month, rows, probabilities, picked)
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
        on the event loop instead of paying a thread-pool hop (measured: +40% req/s). The one
        yield first lets every waiting request enter, so the max_concurrency limit sees the
        real queue and answers 429 past it (without it the queue hid in the event loop, where
        no limit applies: 0 of 2,935 overload requests refused, p99 0.9 s)."""
        await asyncio.sleep(0)
        return self._score([Flight(**flight)])[0]

    @bentoml.api(input_spec=Flights, output_spec=Predictions)
    def predict_many(self, flights: list[Flight]) -> Predictions:
        """Delay probabilities for up to 1000 flights in one call."""
        return Predictions(predictions=self._score(flights))

    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH, max_latency_ms=50)
    def predict_batched(
        self, flights: Annotated[list[Flight], Field(min_length=1, max_length=MAX_BATCH)]
    ) -> list[Prediction]:
        """Adaptive batching: concurrent callers' flights are scored together in one call."""
        return self._score(flights)


FlightDelay.add_asgi_middleware(ErrorEnvelope, api_paths=API_PATHS, state=STATE)
