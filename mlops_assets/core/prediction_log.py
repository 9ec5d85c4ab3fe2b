"""The prediction log: one JSON line per prediction, the join key of feedback and live quality.

Each line maps a request id to the request's inputs, the output, the model version, the
training-set hash and the git commit. One file per process, so replicas never interleave.
Inputs a deployment must not keep can be redacted by name (their value becomes "[redacted]";
the flight id and month that feedback joins on are kept), or the log turned off entirely (live
quality then has nothing to join: the monitoring assets say so).
"""

import json
import os
import threading
import time
from pathlib import Path

REDACTED = "[redacted]"


class PredictionLog:
    def __init__(self, folder: Path, enabled: bool = True, redact: str | tuple[str, ...] = ()):
        self.enabled = enabled
        self.redact = tuple(
            f.strip()
            for f in (redact.split(",") if isinstance(redact, str) else redact)
            if f.strip()
        )
        self._file = None
        self._lock = threading.Lock()
        if enabled:
            folder.mkdir(parents=True, exist_ok=True)
            stamp = time.strftime("%Y%m%dT%H%M%S")
            self._file = (folder / f"predictions-{stamp}-{os.getpid()}.jsonl").open(
                "a", buffering=1 << 16
            )

    def write(self, records: list[dict]) -> None:
        if self._file is None:
            return
        if self.redact:
            records = [self._redacted(r) for r in records]
        lines = "".join(json.dumps(r, default=str) + "\n" for r in records)
        with self._lock:
            self._file.write(lines)

    def _redacted(self, record: dict) -> dict:
        inputs = record.get("flight")
        if not isinstance(inputs, dict):
            return record
        hidden = {k: (REDACTED if k in self.redact else v) for k, v in inputs.items()}
        return {**record, "flight": hidden}

    def flush(self) -> None:
        if self._file is None:
            return
        with self._lock:
            self._file.flush()
