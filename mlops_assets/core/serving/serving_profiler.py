"""Rolling whylogs profiles of what a service scores, built off the request path.

A request only offers its feature rows to a per-month reservoir sample (a few list operations
under a lock); a background flush every few seconds profiles each month's reservoir and
writes one profile per month to the profile store, named with the number of rows *served* in
the interval. The reservoir bounds profiling cost whatever the traffic: below ``max_rows``
rows per interval every row is profiled, above it a uniform sample of ``max_rows`` is (drift
statistics need hundreds of rows, not all of them). A failed flush is logged and dropped:
monitoring must never take the service down.

Each profiled row carries its score for prediction drift (``tasks.score_fields``): the column
``prediction`` (binary: the probability; regression: the value; multiclass: the highest class
probability) and, for multiclass, ``predicted_class`` (the class index, a category).
"""

import logging
import random
import threading

from mlops_assets.core.monitoring.profile_store import ProfileStore
from mlops_assets.core.monitoring.profiling import profile_rows
from mlops_assets.core.training.tasks import score_fields

logger = logging.getLogger(__name__)


class _Reservoir:
    """Uniform sample of at most ``size`` (row, prediction) pairs from a stream."""

    def __init__(self, size: int, rng: random.Random):
        self.size, self.rng, self.seen, self.items = size, rng, 0, []

    def offer(self, rows, probabilities, picked: list[int]) -> None:
        """Offer the picked rows of ``rows`` (dicts, or a polars frame: kept as a reference
        and turned into a dict only at flush, off the request path)."""
        for i in picked:
            self.seen += 1
            if len(self.items) < self.size:
                self.items.append((rows, i, probabilities[i]))
            else:
                slot = self.rng.randrange(self.seen)
                if slot < self.size:
                    self.items[slot] = (rows, i, probabilities[i])

    def rows(self) -> list[dict]:
        return [
            {
                **(rows[i] if isinstance(rows, list) else rows.row(i, named=True)),
                **score_fields(p),
            }
            for rows, i, p in self.items
        ]


class ServingProfiler:
    def __init__(self, store: ProfileStore, model: str, max_rows: int = 5000, seed: int = 0):
        self.store, self.model, self.max_rows = store, model, max_rows
        self._rng = random.Random(seed)
        self._months: dict[str, _Reservoir] = {}
        self._lock = threading.Lock()

    def add(self, month: str, rows, probabilities, picked: list[int] | None = None) -> None:
        """Offer scored rows (feature dicts or a frame; ``probabilities``: their scores, one
        per row or a row of class probabilities each; ``picked``: which of them, default all;
        the prediction is added at flush) to the sample."""
        picked = range(len(rows)) if picked is None else picked
        with self._lock:
            reservoir = self._months.get(month)
            if reservoir is None:
                reservoir = self._months[month] = _Reservoir(self.max_rows, self._rng)
            reservoir.offer(rows, probabilities, picked)

    def flush(self) -> list[str]:
        """Profile and store each month's sample; returns the keys written."""
        with self._lock:
            months, self._months = self._months, {}
        written = []
        for month, reservoir in months.items():
            try:
                view = profile_rows(reservoir.rows())
                written.append(self.store.put_serving(self.model, month, view, reservoir.seen))
            except Exception:
                logger.exception("serving profile for %s dropped (%d rows)", month, reservoir.seen)
        return written
