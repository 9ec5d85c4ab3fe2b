"""The model registry: immutable versions, stages, and an append-only log of stage changes.

Layout in the blob store, per model name:
  models/<name>/versions/<version>/claim.json    who took the number, written first
  models/<name>/versions/<version>/<file>        model files
  models/<name>/versions/<version>/version.json  metadata + sha256 of every file, written last
  models/<name>/events/<seq:08d>.json            one object per stage change, never rewritten
A version exists once its version.json exists, so a crash mid-write leaves no half version
(only a claimed number that stays unused). Registries written before claims existed load as is.

Several processes may write at once (the LightGBM and PyTorch candidates of one run under the
multiprocess executor; two promotions). Every version number and event number is therefore
taken with the store's create-if-absent write: listing only suggests the next free number,
and a writer that loses the race takes the one after. Nothing is ever overwritten.

The current stage of each version is the replay of the events; nothing else holds state.
"""

import getpass
import hashlib
import json
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath

from mlops_assets.core.blob_store import BlobStore

STAGES = ("staging", "production", "archived")
CLAIM, RECORD = "claim.json", "version.json"
# Each racing writer costs a loser at most one extra try; this only stops a runaway loop.
MAX_TRIES = 1000


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
        numbers = sorted(int(k.split("/")[3]) for k in keys if k.endswith(f"/{RECORD}"))
        return [self.get(name, n) for n in numbers]

    def register(self, name: str, files: dict[str, bytes], metadata: dict) -> ModelVersion:
        """Claim a number, store the files, then the record that makes them visible."""
        reserved = {CLAIM, RECORD} & set(files)
        if reserved:
            raise RegistryError(f"model file names {sorted(reserved)} are the registry's own")
        number = self._claim_version(name)
        base = f"{self._prefix(name)}/versions/{number}"
        checksums = {}
        for filename, data in files.items():
            self._write_new(f"{base}/{filename}", data)
            checksums[filename] = sha256(data)
        record = {
            "name": name,
            "version": number,
            "created_at": _now(),
            "checksums": checksums,
            "metadata": metadata,
        }
        self._write_new(f"{base}/{RECORD}", json.dumps(record, indent=2, default=str).encode())
        version = self.get(name, number)
        self._append_event(name, number, "staging", "registered", "registry")
        return version

    def _claim_version(self, name: str) -> int:
        """The next version number, taken by creating its claim.json (first writer wins)."""
        existing = self.store.list(f"{self._prefix(name)}/versions/")
        start = 1 + max((int(k.split("/")[3]) for k in existing), default=0)
        for number in range(start, start + MAX_TRIES):
            claim = {"version": number, "id": uuid.uuid4().hex, "at": _now()}
            claim |= {"host": socket.gethostname(), "pid": os.getpid()}
            key = f"{self._prefix(name)}/versions/{number}/{CLAIM}"
            if self.store.put_if_absent(key, json.dumps(claim).encode()):
                return number
        raise RegistryError(f"model '{name}': no free version number in {start}..{number}")

    def _write_new(self, key: str, data: bytes) -> None:
        """Write a file under a claimed number; finding one there means a claim was broken."""
        if not self.store.put_if_absent(key, data):
            raise RegistryError(
                f"'{key}' already exists under a version number this writer claimed; the store "
                "does not honour create-if-absent, so the registry cannot be shared safely"
            )

    def get(self, name: str, version: int) -> ModelVersion:
        key = f"{self._prefix(name)}/versions/{version}/{RECORD}"
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

    def read_file(self, version: ModelVersion, filename: str, purpose: str = "load") -> bytes:
        """A model file's bytes, verified against the checksum recorded at registration."""
        key = f"{self._prefix(version.name)}/versions/{version.version}/{filename}"
        if filename not in version.checksums:
            raise RegistryError(f"{version.tag} has no file '{filename}'")
        if not self.store.exists(key):
            raise CorruptModelError(f"{version.tag}: file '{filename}' is missing ({key})")
        data = self.store.get(key)
        actual = sha256(data)
        if actual != version.checksums[filename]:
            raise CorruptModelError(
                f"{version.tag}: file '{filename}' has sha256 {actual[:12]}…, registered "
                f"{version.checksums[filename][:12]}…; refusing to {purpose} a damaged or "
                "tampered model"
            )
        return data

    def verify(self, version: ModelVersion, purpose: str = "load") -> None:
        """Check every file of a version against its checksum; raise CorruptModelError if not."""
        for filename in version.checksums:
            self.read_file(version, filename, purpose)

    # stages -----------------------------------------------------------------------------
    def events(self, name: str) -> list[dict]:
        """The stage-change log, oldest first."""
        keys = self.store.list(f"{self._prefix(name)}/events/")
        return [json.loads(self.store.get(k)) for k in sorted(keys)]

    def _append_event(
        self, name: str, version: int, stage: str, reason: str, actor: str, **extra
    ) -> dict:
        """Append one event under the next free sequence number (first writer wins)."""
        if stage not in STAGES:
            raise RegistryError(f"unknown stage '{stage}'; stages are {STAGES}")
        prefix = f"{self._prefix(name)}/events/"
        taken = [PurePosixPath(k).stem for k in self.store.list(prefix)]
        start = 1 + max((int(s) for s in taken if s.isdigit()), default=0)
        for seq in range(start, start + MAX_TRIES):
            event = {"seq": seq, "at": _now(), "version": version, "stage": stage}
            event |= {"reason": reason, "actor": actor, **extra, "id": uuid.uuid4().hex}
            if self.store.put_if_absent(f"{prefix}{seq:08d}.json", json.dumps(event).encode()):
                return event
        raise RegistryError(f"model '{name}': no free event number in {start}..{seq}")

    def stages(self, name: str) -> dict[int, str]:
        """Replay the log. A production event archives whatever was production before it, so
        racing promotions leave exactly one production version: the last one logged."""
        current: dict[int, str] = {}
        promoted_at: dict[int, int] = {}
        for event in self.events(name):
            version, stage = event["version"], event["stage"]
            if stage == "staging" and version in current:
                continue  # registration is a version's first stage, never a later one
            replaced_by = event.get("replaced_by_seq")  # absent in logs older than it
            if stage == "archived" and replaced_by and replaced_by < promoted_at.get(version, 0):
                continue  # a stale archive: the version was promoted again since
            if stage == "production":
                current |= {v: "archived" for v, s in current.items() if s == "production"}
                promoted_at[version] = event["seq"]
            current[version] = stage
        return current

    def production(self, name: str) -> ModelVersion | None:
        live = [v for v, s in self.stages(name).items() if s == "production"]
        return self.get(name, live[0]) if live else None

    def promote(self, name: str, version: int, reason: str, actor: str | None = None) -> list[dict]:
        """Make ``version`` production and archive the previous production version.

        Refuses (CorruptModelError) a version whose files fail their checksums, so a truncated
        or altered model never goes live. Returns the events written (none if already live).
        """
        self.verify(self.get(name, version), purpose="promote")
        actor = actor or getpass.getuser()
        previous = self.production(name)
        if previous and previous.version == version:
            return []
        promoted = self._append_event(name, version, "production", reason, actor)
        if not previous:
            return [promoted]
        archived = self._append_event(
            name,
            previous.version,
            "archived",
            f"replaced by v{version}: {reason}",
            actor,
            replaced_by_seq=promoted["seq"],
        )
        return [promoted, archived]

    def rollback(
        self, name: str, version: int, reason: str, actor: str | None = None
    ) -> list[dict]:
        """Put an earlier version back into production (one command: see registry_cli)."""
        return self.promote(name, version, f"rollback: {reason}", actor)
