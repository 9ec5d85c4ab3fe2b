"""The anchor for serving: a minimal Starlette app on uvicorn calling the same lookup and
predict code as the BentoML service, with no validation layer, batching, metrics or tracing."""

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mlops_assets.core.blob_store import LocalBlobStore
from mlops_assets.core.features.online_features import OnlineFeatures, serving_contract
from mlops_assets.core.registry.registry import ModelRegistry
from mlops_assets.core.serving.predictor import load_predictor
from mlops_assets.dataset.problem import MODEL_NAME

DATA_DIR = Path(os.environ["MLOPS_DATA_DIR"])
REGISTRY = ModelRegistry(LocalBlobStore(DATA_DIR / "registry"))
VERSION = REGISTRY.production(MODEL_NAME)
PREDICTOR = load_predictor(REGISTRY, VERSION)
FEATURES = OnlineFeatures.open(DATA_DIR / "online_store")


CONTRACT = serving_contract()


def _request(body: dict) -> dict:
    return CONTRACT.parse(body)


async def predict(request: Request) -> JSONResponse:
    body = await request.json()
    p = float(PREDICTOR.predict_rows(FEATURES.rows([_request(body)]))[0])
    return JSONResponse({"delay_probability": p, "model_version": VERSION.version})


async def predict_many(request: Request) -> JSONResponse:
    body = await request.json()
    p = PREDICTOR.predict_rows(FEATURES.rows([_request(f) for f in body[CONTRACT.plural]]))
    return JSONResponse({"predictions": [float(x) for x in p]})


app = Starlette(
    routes=[
        Route("/predict", predict, methods=["POST"]),
        Route("/predict_many", predict_many, methods=["POST"]),
    ]
)
