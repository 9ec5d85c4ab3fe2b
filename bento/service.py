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
from pathlib import Path

import bentoml
from bentoml.exceptions import InvalidArgument

from mlops_assets.core.blob_store import DATA_PREFIX, REGISTRY_PREFIX, blob_store_for
from mlops_assets.core.features.online_features import (
    OnlineFeatures,
    UnknownEntityError,
    serving_contract,
)
from mlops_assets.core.monitoring.profile_store import ProfileStore
from mlops_assets.core.registry.registry import ModelRegistry
from mlops_assets.core.serving.api_models import (
    batch_model,
    prediction_model,
    predictions_model,
    request_model,
)
from mlops_assets.core.serving.graceful_drain import install_sigterm_drain
from mlops_assets.core.serving.http_errors import (
    ClientErrorLogFilter,
    ErrorEnvelope,
    ServingState,
)
from mlops_assets.core.serving.prediction_log import PredictionLog
from mlops_assets.core.serving.predictor import load_predictor
from mlops_assets.core.serving.serving_profiler import ServingProfiler
from mlops_assets.core.training.tasks import current_task
from mlops_assets.dataset import problem

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
MODEL_NAME = os.environ.get("MLOPS_MODEL_NAME", problem.MODEL_NAME)
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
# 0: no drain, BentoML's own shutdown (core/serving/graceful_drain.py says what that loses).
DRAIN_SECONDS = float(os.environ.get("MLOPS_DRAIN_SECONDS", "3"))
API_PATHS = frozenset({"/predict", "/predict_many", "/predict_batched"})
STATE = ServingState()
# A child of BentoML's logger, so that the service's lines go where BentoML's go.
logger = logging.getLogger("bentoml").getChild("predictions")
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


# The request, batch and prediction models (and so the OpenAPI schema) come from the dataset's
# serving declaration and the task type: a fork changes neither this file nor core/.
CONTRACT = serving_contract()
TASK = current_task()
Request = request_model(CONTRACT)
Batch = batch_model(CONTRACT, Request, MAX_BATCH)
Prediction = prediction_model(CONTRACT, TASK.output_fields())
Predictions = predictions_model(Prediction)
OUTPUT_NAMES = CONTRACT.output_names
PLURAL = CONTRACT.plural


class _Live:
    """The model and the feature store in use, replaced together as one reference."""

    def __init__(self, version, predictor, features: OnlineFeatures):
        self.version, self.predictor, self.features = version, predictor, features


@bentoml.service(
    name=problem.MODEL_NAME,
    # No host here: a built Bento must listen on every interface inside its container;
    # `make serve` and the tests pass --host 127.0.0.1.
    http={"port": 3000},
    traffic=TRAFFIC,
    # Off by default on the hot path (measured in docs/benchmarks.md); turn on per deployment.
    logging={"access": {"enabled": False}},
    tracing={"sample_rate": 0.0},
)
class PredictionService:
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

    def _score(self, items: list) -> list:
        live = self.live
        if live is None:
            raise bentoml.exceptions.ServiceUnavailable(STATE.not_ready_reason)
        requests = [item.model_dump() for item in items]
        try:
            if len(requests) >= FRAME_MIN_ROWS:  # column-wise: lookup and model in batches
                rows = live.features.frame(requests)
                scores = live.predictor.predict_frame(rows)
            else:
                rows = live.features.rows(requests)
                scores = live.predictor.predict_rows(rows)
        except UnknownEntityError as exc:
            raise InvalidArgument(f"{exc.field}: {exc}") from exc
        metadata = live.version.metadata
        outputs = current_task(metadata).outputs(scores, metadata)
        features = live.features
        predictions = [
            Prediction(
                request_id=uuid.uuid4().hex,
                **{OUTPUT_NAMES.get(k, k): v for k, v in out.items()},
                model_version=live.version.version,
                stale_minutes=features.stale_minutes(r),
            )
            for out, r in zip(outputs, requests, strict=True)
        ]
        at = time.time()
        values = [features.values(r) for r in requests]
        months = [v[CONTRACT.event_date].strftime("%Y-%m") for v in values]
        for month in dict.fromkeys(months) if PROFILING else ():
            picked = [i for i, m in enumerate(months) if m == month]
            self.profiler.add(month, rows, scores, picked)
        lineage = metadata.get("lineage", {})
        self.log.write(
            [
                {
                    "request_id": out.request_id,
                    "at": at,
                    "entity_id": CONTRACT.entity_id.format(**v),
                    "event_date": v[CONTRACT.event_date].isoformat(),
                    "month": month,
                    "request": item.model_dump(mode="json"),
                    "score": score.tolist() if hasattr(score, "tolist") else float(score),
                    "model_version": out.model_version,
                    "training_set_hash": lineage.get("training_set_hash"),
                    "git_commit": lineage.get("git_commit"),
                }
                for item, out, v, month, score in zip(
                    items, predictions, values, months, scores, strict=True
                )
            ]
        )
        return predictions

    @bentoml.api(input_spec=Request, output_spec=Prediction)
    async def predict(self, **request):
        """One prediction. Async on purpose: half a millisecond of work runs on the event loop
        instead of paying a thread-pool hop (measured: +40% req/s). The one yield first lets
        every waiting request enter, so the max_concurrency limit sees the real queue and
        answers 429 past it (without it the queue hid in the event loop, where no limit
        applies: 0 of 2,935 overload requests refused, p99 0.9 s)."""
        await asyncio.sleep(0)
        return self._score([Request(**request)])[0]

    @bentoml.api(input_spec=Batch, output_spec=Predictions)
    def predict_many(self, **batch):
        """Up to MAX_BATCH predictions in one call, in request order."""
        return Predictions(predictions=self._score(batch[PLURAL]))

    @bentoml.api(input_spec=Batch, batchable=True, max_batch_size=MAX_BATCH, max_latency_ms=50)
    def predict_batched(self, requests: list) -> list[Prediction]:
        """Adaptive batching: concurrent callers' requests are scored together in one call
        (BentoML hands the batch field's list in, whatever its name)."""
        return self._score(requests)


PredictionService.add_asgi_middleware(ErrorEnvelope, api_paths=API_PATHS, state=STATE)
