"""Re-run a past training from its registry version and compare the metrics it gets."""

import io
import json

import polars as pl

from mlops_assets.core.registry.registry import ModelRegistry, ModelVersion, RegistryError, sha256
from mlops_assets.core.training import candidates
from mlops_assets.core.training.candidates import Problem
from mlops_assets.core.training.fingerprint import frame_fingerprint


def training_set_key(digest: str) -> str:
    """Training sets are content-addressed: stored once, under the hash of their rows."""
    return f"training_sets/{digest}.parquet"


def load_training_set(
    registry: ModelRegistry, digest: str, file_sha256: str | None = None
) -> pl.DataFrame:
    """The stored training set, verified: by the file's sha256 when known (fast), else by
    recomputing the content hash it is filed under."""
    data = registry.store.get(training_set_key(digest))
    if file_sha256 is not None:
        if sha256(data) != file_sha256:
            raise RegistryError(f"training set {digest[:12]}… file does not match its sha256")
        return pl.read_parquet(io.BytesIO(data))
    frame = pl.read_parquet(io.BytesIO(data))
    if frame_fingerprint(frame) != digest:
        raise RegistryError(f"training set {digest[:12]}… does not match its hash")
    return frame


def reproduce(registry: ModelRegistry, version: ModelVersion, label: str) -> dict:
    """Train again with the recorded data, params and seed; return old and new test metrics."""
    meta = version.metadata
    lineage = meta["lineage"]
    frame = load_training_set(
        registry, lineage["training_set_hash"], lineage.get("training_set_file_sha256")
    )
    encoder = json.loads(registry.read_file(version, "encoder.json"))
    # the version's own task (models registered before tasks existed are binary)
    task = meta.get("task", "binary")
    problem = Problem(tuple(encoder["categorical"]), tuple(encoder["numeric"]), label, task)
    if meta["framework"] == "lightgbm":
        again = candidates.fit_lightgbm(frame, problem, meta["params"], meta["rounds"])
    else:
        again = getattr(candidates, f"fit_{meta['framework']}")(frame, problem, meta["params"])
    return {
        "registered": meta["metrics"]["test"],
        "reproduced": again.metadata["metrics"]["test"],
        "files_identical": {
            name: registry.read_file(version, name) == data for name, data in again.files.items()
        },
    }
