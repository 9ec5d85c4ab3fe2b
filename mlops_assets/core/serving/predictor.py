"""Load a registered model version into something that scores feature rows.

Batch scoring, evaluation and the online service all go through ``load_predictor``: the files
are checksum-verified, parsed from safe formats (LightGBM text, a torch ``state_dict`` loaded
with ``weights_only=True``, JSON), and fed by the same ``FeatureEncoder``.

Scores follow the version's task (core/training/tasks.py): shape (n,) for binary (P(positive))
and regression (the value), (n, k) for multiclass (a probability per class, in the order of
the version's ``classes``).
"""

import json
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import polars as pl

from mlops_assets.core.registry.registry import ModelRegistry, ModelVersion, RegistryError
from mlops_assets.core.training.encoding import FeatureEncoder

ENCODER_FILE = "encoder.json"
LIGHTGBM_FILE = "model.txt"
# >>> pytorch
TORCH_WEIGHTS_FILE = "weights.pt"
TORCH_CONFIG_FILE = "network.json"
# <<< pytorch


class Predictor(Protocol):
    encoder: FeatureEncoder

    def predict_frame(self, frame: pl.DataFrame) -> np.ndarray: ...

    def predict_rows(self, rows: list[dict]) -> np.ndarray: ...


@dataclass
class LightGBMPredictor:
    booster: object
    encoder: FeatureEncoder

    def predict_frame(self, frame: pl.DataFrame) -> np.ndarray:
        return self.predict_matrix(self.encoder.transform(frame))

    def predict_rows(self, rows: list[dict]) -> np.ndarray:
        return self.predict_matrix(self.encoder.transform_rows(rows))

    def predict_matrix(self, matrix: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.predict(matrix), dtype=np.float64)


# >>> pytorch
@dataclass
class TorchPredictor:
    net: object
    encoder: FeatureEncoder
    scaler: object
    head: dict | None = None  # None: the sigmoid of a binary model

    def predict_frame(self, frame: pl.DataFrame) -> np.ndarray:
        return self.predict_matrix(self.encoder.transform(frame))

    def predict_rows(self, rows: list[dict]) -> np.ndarray:
        return self.predict_matrix(self.encoder.transform_rows(rows))

    def predict_matrix(self, matrix: np.ndarray) -> np.ndarray:
        from mlops_assets.core.training.torch_trainer import predict_net, split_matrix

        categorical, numeric = split_matrix(matrix, len(self.encoder.categorical), self.scaler)
        return predict_net(self.net, categorical, numeric, self.head)


# <<< pytorch
@dataclass
class BaselinePredictor:
    """The trivial baseline of a binary or regression task: the first non-null of
    ``columns`` (for flights the route's 30-day delay rate, else the carrier's), else the
    training prior or mean. Evaluation uses ``Task.baseline``, which covers every task."""

    prior: float
    columns: tuple[str, ...]

    def predict_frame(self, frame: pl.DataFrame) -> np.ndarray:
        expr = pl.coalesce([pl.col(c) for c in self.columns] + [pl.lit(self.prior)])
        return frame.select(expr.cast(pl.Float64)).to_series().to_numpy()


def load_predictor(registry: ModelRegistry, version: ModelVersion) -> Predictor:
    encoder = FeatureEncoder.from_dict(json.loads(registry.read_file(version, ENCODER_FILE)))
    framework = version.metadata.get("framework")
    if framework == "lightgbm":
        from mlops_assets.core.training.lightgbm_trainer import booster_from_text

        text = registry.read_file(version, LIGHTGBM_FILE).decode()
        return LightGBMPredictor(booster=booster_from_text(text), encoder=encoder)
    # >>> pytorch
    if framework == "torch":
        from mlops_assets.core.training.torch_trainer import NumericScaler, load_net

        config = json.loads(registry.read_file(version, TORCH_CONFIG_FILE))
        net = load_net(config["network"], registry.read_file(version, TORCH_WEIGHTS_FILE))
        return TorchPredictor(
            net=net,
            encoder=encoder,
            scaler=NumericScaler(**config["scaler"]),
            head=config.get("head"),
        )
    # <<< pytorch
    raise RegistryError(f"{version.tag} has unknown framework {framework!r}")
