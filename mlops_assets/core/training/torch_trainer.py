"""A PyTorch tabular model: embeddings for categoricals plus an MLP over standardized numerics.

It runs on CUDA when one is present (bf16 autocast, whole training set resident on the device,
no per-sample DataLoader) and on the CPU otherwise. Its head follows the task: one logit with
a sigmoid and BCE (binary), one linear unit with MSE on the standardized target (regression; the
target's mean and std are saved to undo it), or one logit per class with softmax and
cross-entropy (multiclass). Weights are saved as a ``state_dict`` and
loaded with ``weights_only=True``: no pickled code is ever executed.
"""

import io
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from mlops_assets.core.training.metrics import roc_auc

DEFAULT_PARAMS = {
    "hidden": [256, 128],
    "dropout": 0.1,
    "lr": 2e-3,
    "weight_decay": 1e-5,
    "batch_size": 4096,
    "max_epochs": 12,
    "patience": 3,
    "seed": 42,
}


class TabularNet(nn.Module):
    """Embeddings (index 0 = unknown) concatenated with numerics and missing flags, then an MLP."""

    def __init__(
        self,
        cardinalities: list[int],
        n_numeric: int,
        hidden: list[int],
        dropout: float,
        outputs: int = 1,
    ):
        super().__init__()
        self.embeddings = nn.ModuleList(
            nn.Embedding(card + 1, min(16, (card + 1) // 2 + 1)) for card in cardinalities
        )
        width = sum(e.embedding_dim for e in self.embeddings) + 2 * n_numeric
        layers: list[nn.Module] = []
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, outputs))
        self.mlp = nn.Sequential(*layers)

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        parts = [emb(categorical[:, i]) for i, emb in enumerate(self.embeddings)]
        out = self.mlp(torch.cat([*parts, numeric], dim=1))
        return out.squeeze(1) if out.shape[1] == 1 else out


# How logits become scores: "sigmoid" (P(positive)), "linear" (the value, un-standardized with
# the target's mean and std) or "softmax" (a probability per class). None means sigmoid, which
# is what models saved before heads existed use.
Head = dict


def head_kind(head: Head | None) -> str:
    return (head or {}).get("kind", "sigmoid")


def _scores(logits: torch.Tensor, head: Head | None) -> torch.Tensor:
    kind = head_kind(head)
    if kind == "sigmoid":
        return torch.sigmoid(logits.double())
    if kind == "linear":
        return logits.double() * head["std"] + head["mean"]
    if kind == "softmax":
        return torch.softmax(logits.double(), dim=1)
    raise ValueError(f"unknown torch head {kind!r}")


@dataclass(frozen=True)
class NumericScaler:
    """Train-set mean and std per numeric column; NaN becomes 0 plus a missing flag."""

    mean: list[float]
    std: list[float]

    @classmethod
    def fit(cls, numeric: np.ndarray) -> "NumericScaler":
        mean = np.nan_to_num(np.nanmean(numeric, axis=0))
        std = np.nan_to_num(np.nanstd(numeric, axis=0), nan=1.0)
        std[std < 1e-9] = 1.0
        return cls(mean=mean.tolist(), std=std.tolist())

    def transform(self, numeric: np.ndarray) -> np.ndarray:
        missing = np.isnan(numeric)
        scaled = np.where(missing, 0.0, (numeric - np.array(self.mean)) / np.array(self.std))
        return np.concatenate([scaled, missing.astype(np.float64)], axis=1).astype(np.float32)


def split_matrix(
    matrix: np.ndarray, n_categorical: int, scaler: NumericScaler
) -> tuple[np.ndarray, np.ndarray]:
    """Encoder matrix -> (category indices with 0 = unknown, scaled numerics with flags)."""
    codes = matrix[:, :n_categorical]
    categorical = np.where(np.isnan(codes), 0, codes + 1).astype(np.int64)
    return categorical, scaler.transform(matrix[:, n_categorical:])


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass(frozen=True)
class TorchResult:
    state: dict
    config: dict
    best_valid_score: float  # the early-stopping score (binary: validation AUC)
    best_epoch: int
    seconds: float
    seconds_to_best: float
    samples_per_second: float
    device: str
    head: Head | None = None

    @property
    def best_valid_auc(self) -> float:
        return self.best_valid_score


def _predict(
    net: TabularNet,
    cat: torch.Tensor,
    num: torch.Tensor,
    device: torch.device,
    head: Head | None = None,
):
    net.eval()
    out = []
    with (
        torch.no_grad(),
        torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"),
    ):
        for start in range(0, cat.shape[0], 65536):
            logits = net(cat[start : start + 65536], num[start : start + 65536])
            out.append(_scores(logits, head))
    return torch.cat(out).cpu().numpy().astype(np.float64)


def train_torch(
    train: tuple[np.ndarray, np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray, np.ndarray],
    cardinalities: list[int],
    params: dict | None = None,
    device: torch.device | None = None,
    head: str = "sigmoid",
    outputs: int = 1,
    score=None,
) -> TorchResult:
    """Full-tensor mini-batch training with early stopping on validation AUC (or ``score``:
    ``score(y_valid, valid_scores)``, higher is better).

    ``train`` and ``valid`` are (categorical indices, scaled numerics, labels); labels are 0/1
    for the sigmoid head, values for the linear head, class indices for the softmax head."""
    params = {**DEFAULT_PARAMS, **(params or {})}
    device = device or pick_device()
    torch.manual_seed(params["seed"])
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)
    generator = torch.Generator(device=device).manual_seed(params["seed"])
    # copies: the arrays are read-only views of the polars frame, which torch must not share
    cat, num, y = (torch.as_tensor(a.copy(), device=device) for a in train)
    fitted_head: Head | None = None
    if head == "sigmoid":
        y, loss_fn = y.float(), nn.BCEWithLogitsLoss()
    elif head == "linear":
        mean, std = float(train[2].mean()), float(train[2].std()) or 1.0
        fitted_head = {"kind": "linear", "mean": mean, "std": std}
        y, loss_fn = ((y.double() - mean) / std).float(), nn.MSELoss()
    elif head == "softmax":
        fitted_head = {"kind": "softmax"}
        y, loss_fn = y.long(), nn.CrossEntropyLoss()
    else:
        raise ValueError(f"unknown torch head {head!r}")
    score = score or roc_auc
    vcat = torch.as_tensor(valid[0].copy(), device=device)
    vnum = torch.as_tensor(valid[1].copy(), device=device)
    config = {
        "cardinalities": cardinalities,
        "n_numeric": num.shape[1] // 2,
        "hidden": params["hidden"],
        "dropout": params["dropout"],
        # only when not 1: a binary model's network.json stays as it was before heads existed
        **({"outputs": outputs} if outputs != 1 else {}),
    }
    net = TabularNet(**config).to(device)
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=params["lr"], weight_decay=params["weight_decay"]
    )
    best_score, best_epoch, best_state, seen = -float("inf"), -1, None, 0
    start = time.perf_counter()
    seconds_to_best = 0.0
    for epoch in range(params["max_epochs"]):
        net.train()
        order = torch.randperm(cat.shape[0], device=device, generator=generator)
        for lo in range(0, cat.shape[0], params["batch_size"]):
            idx = order[lo : lo + params["batch_size"]]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                loss = loss_fn(net(cat[idx], num[idx]).float(), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            seen += idx.shape[0]
        valid_score = score(valid[2], _predict(net, vcat, vnum, device, fitted_head))
        if valid_score > best_score:
            best_score, best_epoch = valid_score, epoch
            best_state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
            seconds_to_best = time.perf_counter() - start
        elif epoch - best_epoch >= params["patience"]:
            break
    seconds = time.perf_counter() - start
    return TorchResult(
        state=best_state,
        config=config,
        best_valid_score=best_score,
        best_epoch=best_epoch,
        seconds=seconds,
        seconds_to_best=seconds_to_best,
        samples_per_second=seen / seconds,
        device=str(device),
        head=fitted_head,
    )


def state_to_bytes(state: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def load_net(config: dict, weights: bytes) -> TabularNet:
    """Rebuild the network and load weights without unpickling arbitrary objects."""
    net = TabularNet(**config)
    net.load_state_dict(torch.load(io.BytesIO(weights), weights_only=True, map_location="cpu"))
    return net.double().eval()


@dataclass
class TorchPredictorNet:
    """A trained network on the CPU, ready to score encoder matrices."""

    net: TabularNet
    head: Head | None = None

    @classmethod
    def from_result(cls, result: TorchResult) -> "TorchPredictorNet":
        net = TabularNet(**result.config)
        net.load_state_dict(result.state)
        return cls(net.double().eval(), result.head)

    def predict(self, categorical: np.ndarray, numeric: np.ndarray) -> np.ndarray:
        return predict_net(self.net, categorical, numeric, self.head)


def predict_net(
    net: TabularNet, categorical: np.ndarray, numeric: np.ndarray, head: Head | None = None
) -> np.ndarray:
    """Registered-model inference, in float64 on the CPU: a row scores the same alone or in a
    batch of thousands (float32 kernels block differently by batch size), so online and batch
    predictions agree to 1e-9."""
    device = next(net.parameters()).device
    return _predict(
        net,
        torch.as_tensor(categorical, device=device),
        torch.as_tensor(numeric, dtype=torch.float64, device=device),
        device,
        head,
    )
