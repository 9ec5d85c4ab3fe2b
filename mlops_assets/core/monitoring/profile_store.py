"""Where profiles live, on any BlobStore (a local folder by default, S3 by configuration).

  profiles/reference/<training-set hash>.bin        the profile a model was trained on
  profiles/reference/<training-set hash>.calibration.json
                                                    its months' drift against each other, for
                                                    per-feature thresholds (optional: older
                                                    references have none)
  profiles/reference/predictions/<model>/v<version>.bin
                                                    a version's scores on its held-out months:
                                                    what served scores are compared with
  profiles/serving/<model>/<YYYY-MM>/<name>.bin     what a service replica saw, per flush
Serving files are named ``<unix ms>-<pid>-<seq>-<rows>.bin`` so a reader can count rows and
order flushes without opening them; each replica writes its own, readers merge them.
"""

import os
import time
from dataclasses import dataclass, field

from mlops_assets.core.blob_store import BlobStore
from mlops_assets.core.monitoring.drift_calibration import Calibration
from mlops_assets.core.monitoring.profiling import (
    ProfileError,
    ProfileView,
    from_bytes,
    merge,
    to_bytes,
)

PREFIX = "profiles"


@dataclass
class ServingWindow:
    """The merged serving profile of one model and month, and what could not be read."""

    view: ProfileView | None
    rows: int
    files: list[str]
    unreadable: list[str] = field(default_factory=list)


def _rows(key: str) -> int:
    return int(key.rsplit("-", 1)[-1].removesuffix(".bin"))


def _flushed_at(key: str) -> float:
    return int(key.rsplit("/", 1)[-1].split("-", 1)[0]) / 1000


class ProfileStore:
    def __init__(self, store: BlobStore):
        self.store = store
        self._seq = 0

    # reference ---------------------------------------------------------------------------
    def reference_key(self, training_set_hash: str) -> str:
        return f"{PREFIX}/reference/{training_set_hash}.bin"

    def put_reference(self, training_set_hash: str, view: ProfileView) -> str:
        key = self.reference_key(training_set_hash)
        self.store.put(key, to_bytes(view))
        return key

    def reference(self, training_set_hash: str) -> ProfileView:
        """The training-set profile; ProfileError when it is missing or unreadable."""
        key = self.reference_key(training_set_hash)
        if not self.store.exists(key):
            raise ProfileError(
                f"no reference profile {key}: materialize reference_profile for this training set"
            )
        return from_bytes(self.store.get(key), key)

    def calibration_key(self, training_set_hash: str) -> str:
        return f"{PREFIX}/reference/{training_set_hash}.calibration.json"

    def put_reference_calibration(self, training_set_hash: str, calibration: Calibration) -> str:
        key = self.calibration_key(training_set_hash)
        self.store.put(key, calibration.to_json().encode())
        return key

    def reference_calibration(self, training_set_hash: str) -> Calibration | None:
        """The training months' calibration; None when there is none (a reference built before
        calibration existed, or a one-month training set): fixed thresholds apply. An
        unreadable file raises CalibrationError."""
        key = self.calibration_key(training_set_hash)
        if not self.store.exists(key):
            return None
        return Calibration.from_json(self.store.get(key), key)

    def prediction_reference_key(self, model: str, version: int) -> str:
        return f"{PREFIX}/reference/predictions/{model}/v{version}.bin"

    def put_prediction_reference(self, model: str, version: int, view: ProfileView) -> str:
        key = self.prediction_reference_key(model, version)
        self.store.put(key, to_bytes(view))
        return key

    def prediction_reference(self, model: str, version: int) -> ProfileView | None:
        """The profile of a version's held-out scores; None when not built yet."""
        key = self.prediction_reference_key(model, version)
        return from_bytes(self.store.get(key), key) if self.store.exists(key) else None

    # serving -----------------------------------------------------------------------------
    def put_serving(self, model: str, month: str, view: ProfileView, rows: int) -> str:
        self._seq += 1
        name = f"{int(time.time() * 1000)}-{os.getpid()}-{self._seq}-{rows}.bin"
        key = f"{PREFIX}/serving/{model}/{month}/{name}"
        self.store.put(key, to_bytes(view))
        return key

    def serving_months(self, model: str) -> dict[str, list[str]]:
        """Month -> serving profile keys, for every month with traffic."""
        months: dict[str, list[str]] = {}
        for key in self.store.list(f"{PREFIX}/serving/{model}/"):
            if key.endswith(".bin"):
                months.setdefault(key.split("/")[-2], []).append(key)
        return {m: sorted(keys) for m, keys in sorted(months.items())}

    def serving_activity(self, model: str) -> dict[str, tuple[int, float]]:
        """Month -> (rows served, unix seconds of the newest flush), from file names alone."""
        return {
            month: (sum(map(_rows, keys)), max(map(_flushed_at, keys)))
            for month, keys in self.serving_months(model).items()
        }

    def served_rows(self, model: str, month: str) -> int:
        """Rows profiled for a month so far, from the file names alone."""
        return sum(_rows(k) for k in self.serving_months(model).get(month, []))

    def serving_window(self, model: str, month: str) -> ServingWindow:
        """Merge every replica's flushes for a month; unreadable files are listed, not fatal."""
        keys = self.serving_months(model).get(month, [])
        views, unreadable = [], []
        for key in keys:
            try:
                views.append(from_bytes(self.store.get(key), key))
            except (ProfileError, OSError):
                unreadable.append(key)
        rows = sum(_rows(k) for k in keys if k not in unreadable)
        return ServingWindow(merge(views), rows, keys, unreadable)
