"""The prediction log: one JSON line per prediction, the join key of feedback and live quality.

Each line maps a request id to the request's inputs, the output, the model version, the
training-set hash and the git commit. It lives in the project's blob store under
``prediction_log/<model>/``, and every service process writes its own objects, so replicas
never interleave or overwrite each other: in a local folder one appended file per process
(``predictions-<start>-<pid>-<tag>.jsonl``); in S3, which has no append, one object per
flush (``predictions-<start>-<pid>-<tag>-<seq>.jsonl``). Readers merge whatever is there.
Inputs a deployment must not keep can be redacted by name (their value becomes "[redacted]";
the flight id and month that feedback joins on are kept), or the log turned off entirely (live
quality then has nothing to join: the monitoring assets say so).
"""

import json
import logging
import os
import secrets
import threading
import time

from mlops_assets.core.blob_store import BlobStore, LocalBlobStore

REDACTED = "[redacted]"
PREFIX = "prediction_log"
# Lines kept for the next flush while the object store cannot be written (then the oldest go).
MAX_PENDING_LINES = 500_000

logger = logging.getLogger(__name__)


def log_prefix(model: str) -> str:
    return f"{PREFIX}/{model}/"


class PredictionLog:
    def __init__(
        self,
        store: BlobStore,
        model: str,
        enabled: bool = True,
        redact: str | tuple[str, ...] = (),
    ):
        self.store, self.enabled = store, enabled
        self.redact = tuple(
            f.strip()
            for f in (redact.split(",") if isinstance(redact, str) else redact)
            if f.strip()
        )
        # start, pid and a random tag: replicas in containers often share a pid (1)
        stamp, tag = time.strftime("%Y%m%dT%H%M%S"), secrets.token_hex(3)
        self._name = f"{log_prefix(model)}predictions-{stamp}-{os.getpid()}-{tag}"
        self._file = None
        self._pending: list[str] = []  # batches of lines not yet in the store
        self._pending_lines = 0
        self._seq = 0
        self._lock = threading.Lock()
        if enabled and isinstance(store, LocalBlobStore):
            path = store.root / f"{self._name}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", buffering=1 << 16)

    def write(self, records: list[dict]) -> None:
        if not self.enabled:
            return
        if self.redact:
            records = [self._redacted(r) for r in records]
        lines = "".join(json.dumps(r, default=str) + "\n" for r in records)
        with self._lock:
            if self._file is not None:
                self._file.write(lines)
            else:
                self._pending.append(lines)
                self._pending_lines += len(records)
                if self._pending_lines > MAX_PENDING_LINES:  # the store is unreachable
                    self._pending = _newest(self._pending, MAX_PENDING_LINES)
                    self._pending_lines = sum(b.count("\n") for b in self._pending)

    def _redacted(self, record: dict) -> dict:
        inputs = record.get("request")
        if not isinstance(inputs, dict):
            return record
        hidden = {k: (REDACTED if k in self.redact else v) for k, v in inputs.items()}
        return {**record, "request": hidden}

    def flush(self) -> None:
        """Local: the buffered lines reach the file. Object store: the lines since the last
        flush become one object; when that fails they wait for the next flush (a failed write
        is logged, never raised: logging must not take the service down)."""
        if not self.enabled:
            return
        with self._lock:
            if self._file is not None:
                self._file.flush()
                return
            pending, self._pending, self._pending_lines = self._pending, [], 0
            if not pending:
                return
            self._seq += 1
            key = f"{self._name}-{self._seq:06d}.jsonl"
        try:
            self.store.put(key, "".join(pending).encode())
        except Exception:
            logger.exception("prediction log flush failed; %d batches kept", len(pending))
            with self._lock:
                self._pending = _newest(pending + self._pending, MAX_PENDING_LINES)
                self._pending_lines = sum(b.count("\n") for b in self._pending)


def _newest(batches: list[str], max_lines: int) -> list[str]:
    kept, lines = [], 0
    for batch in reversed(batches):
        lines += batch.count("\n")
        if lines > max_lines:
            logger.error("prediction log: older unflushed lines dropped (store unreachable)")
            break
        kept.append(batch)
    return kept[::-1]
