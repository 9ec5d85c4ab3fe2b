"""Rolling whylogs profiles of what a service scores, built off the request path.

Requests only append their feature rows to an in-memory buffer (a list append under a lock);
a background flush (every few seconds, or sooner once ``max_rows`` are waiting) profiles the
buffer and writes one profile per served month to the profile store. A failed flush is logged
and dropped: monitoring must never take the service down.
"""

import logging
import threading

from mlops_assets.core.profile_store import ProfileStore
from mlops_assets.core.profiling import profile_rows

logger = logging.getLogger(__name__)


class ServingProfiler:
    def __init__(self, store: ProfileStore, model: str, max_rows: int = 50_000):
        self.store, self.model, self.max_rows = store, model, max_rows
        self._buffer: dict[str, list[dict]] = {}
        self._waiting = 0
        self._lock = threading.Lock()
        self.full = threading.Event()

    def add(self, month: str, rows: list[dict], probabilities) -> None:
        """Queue scored rows (features + the prediction) for the next flush."""
        scored = [
            {**row, "prediction": float(p)} for row, p in zip(rows, probabilities, strict=True)
        ]
        with self._lock:
            self._buffer.setdefault(month, []).extend(scored)
            self._waiting += len(scored)
            if self._waiting >= self.max_rows:
                self.full.set()

    def flush(self) -> list[str]:
        """Profile and store what is waiting; returns the keys written."""
        with self._lock:
            buffer, self._buffer, self._waiting = self._buffer, {}, 0
            self.full.clear()
        written = []
        for month, rows in buffer.items():
            try:
                written.append(
                    self.store.put_serving(self.model, month, profile_rows(rows), len(rows))
                )
            except Exception:
                logger.exception("serving profile for %s dropped (%d rows)", month, len(rows))
        return written
