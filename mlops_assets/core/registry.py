"""The model registry: immutable versions, stages, and an append-only log of stage changes.

Layout in the blob store, per model name:
  models/<name>/versions/<version>/<file>      model files, written first
  models/<name>/versions/<version>/version.json  metadata + sha256 of every file, written last
  models/<name>/events/<seq>.json               one object per stage change, never rewritten
A version exists once its version.json exists, so a crash mid-write leaves no half version.
The current stage of each version is the replay of the events; nothing else holds state.
"""

import getpass
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from mlops_assets.core.blob_store import BlobStore

STAGES = ("staging", "production", "archived")


class RegistryError(RuntimeError):
    """A registry operation that cannot be done as asked."""


class CorruptModelError(RegistryError):
    """A model file whose bytes do not match the checksum recorded at registration."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    metadata: dict
    checksums: dict[str, str]
    created_at: str

    @property
    def tag(self) -> str:
        return f"{self.name}:v{self.version}"


class ModelRegistry:
    def __init__(self, store: BlobStore):
        self.store = store

    # versions ---------------------------------------------------------------------------
    def _prefix(self, name: str) -> str:
        return f"models/{name}"

    def versions(self, name: str) -> list[ModelVersion]:
        keys = self.store.list(f"{self._prefix(name)}/versions/")
        numbers = sorted(int(k.split("/")[3]) for k in keys if k.endswith("/version.json"))
        return [self.get(name, n) for n in numbers]

    def register(self, name: str, files: dict[str, bytes], metadata: dict) -> ModelVersion:
        """Store files, then the version record that makes them visible. Returns the version."""
        existing = self.store.list(f"{self._prefix(name)}/versions/")
        number = 1 + max((int(k.split("/")[3]) for k in existing), default=0)
        base = f"{self._prefix(name)}/versions/{number}"
        checksums = {}
        for filename, data in files.items():
            self.store.put(f"{base}/{filename}", data)
            checksums[filename] = sha256(data)
        record = {
            "name": name,
            "version": number,
            "created_at": _now(),
            "checksums": checksums,
            "metadata": metadata,
        }
        self.store.put(f"{base}/version.json", json.dumps(record, indent=2, default=str).encode())
        version = self.get(name, number)
        self._append_event(name, number, "staging", "registered", "registry")
        return version

    def get(self, name: str, version: int) -> ModelVersion:
        key = f"{self._prefix(name)}/versions/{version}/version.json"
        if not self.store.exists(key):
            raise RegistryError(f"model '{name}' has no version {version}")
        record = json.loads(self.store.get(key))
        return ModelVersion(
            name=name,
            version=record["version"],
            metadata=record["metadata"],
            checksums=record["checksums"],
            created_at=record["created_at"],
        )

    def read_file(self, version: ModelVersion, filename: str) -> bytes:
        """A model file's bytes, verified against the checksum recorded at registration."""
        key = f"{self._prefix(version.name)}/versions/{version.version}/{filename}"
        if filename not in version.checksums:
            raise RegistryError(f"{version.tag} has no file '{filename}'")
        try:
            data = self.store.get(key)
        except (FileNotFoundError, OSError) as exc:
            raise CorruptModelError(f"{version.tag}: file '{filename}' is missing ({exc})") from exc
        actual = sha256(data)
        if actual != version.checksums[filename]:
            raise CorruptModelError(
                f"{version.tag}: file '{filename}' has sha256 {actual[:12]}…, registered "
                f"{version.checksums[filename][:12]}…; refusing to load a damaged or tampered model"
            )
        return data

    # stages -----------------------------------------------------------------------------
    def events(self, name: str) -> list[dict]:
        """The stage-change log, oldest first."""
        keys = self.store.list(f"{self._prefix(name)}/events/")
        return [json.loads(self.store.get(k)) for k in sorted(keys)]

    def _append_event(self, name: str, version: int, stage: str, reason: str, actor: str):
        if stage not in STAGES:
            raise RegistryError(f"unknown stage '{stage}'; stages are {STAGES}")
        seq = len(self.store.list(f"{self._prefix(name)}/events/")) + 1
        event = {
            "seq": seq,
            "at": _now(),
            "version": version,
            "stage": stage,
            "reason": reason,
            "actor": actor,
        }
        self.store.put(f"{self._prefix(name)}/events/{seq:08d}.json", json.dumps(event).encode())
        return event

    def stages(self, name: str) -> dict[int, str]:
        current: dict[int, str] = {}
        for event in self.events(name):
            current[event["version"]] = event["stage"]
        return current

    def production(self, name: str) -> ModelVersion | None:
        live = [v for v, s in self.stages(name).items() if s == "production"]
        return self.get(name, live[0]) if live else None

    def promote(self, name: str, version: int, reason: str, actor: str | None = None) -> None:
        """Make ``version`` production and archive the previous production version."""
        self.get(name, version)  # must exist
        actor = actor or getpass.getuser()
        previous = self.production(name)
        if previous and previous.version == version:
            return
        self._append_event(name, version, "production", reason, actor)
        if previous:
            self._append_event(
                name, previous.version, "archived", f"replaced by v{version}: {reason}", actor
            )

    def rollback(self, name: str, version: int, reason: str, actor: str | None = None) -> None:
        """Put an earlier version back into production (one command: see registry_cli)."""
        self.promote(name, version, f"rollback: {reason}", actor)
