"""Two service replicas on one S3 store: two `bentoml serve` processes read the same registry (in
S3, through moto's server on 127.0.0.1) and the same online store, swap to a newly promoted
version together, and each writes its own prediction-log and profile objects, which the
monitoring readers merge: every row served by either replica is counted, none overwritten."""

import json
from pathlib import Path

import boto3
import httpx
import pytest

from mlops_assets.core.blob_store import (
    DATA_PREFIX,
    REGISTRY_PREFIX,
    LocalBlobStore,
    S3BlobStore,
)
from mlops_assets.core.monitoring.live_quality import read_prediction_log
from mlops_assets.core.monitoring.profile_store import ProfileStore
from mlops_assets.core.registry.registry import ModelRegistry
from mlops_assets.core.serving.prediction_log import PredictionLog
from mlops_assets.core.serving.readiness import kill_tree, start_bentoml_serve, wait_until_ready
from tests.conftest import REPO, free_port
from tests.contract import EXAMPLE, EXAMPLE_MONTH, MODEL, PLURAL
from tests.processes import wait_for
from tests.test_registry_s3 import moto_server

BUCKET = "replicas"
SENT = {"a": 300, "b": 200}  # predictions asked of each replica, in batches of 50


def _upload(folder: Path, store: S3BlobStore) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        store.put(path.relative_to(folder).as_posix(), path.read_bytes())


@pytest.fixture
def replicas(served, tmp_path):
    with moto_server(BUCKET) as endpoint:
        client = boto3.client("s3", endpoint_url=endpoint)
        registry = ModelRegistry(S3BlobStore(client, BUCKET, REGISTRY_PREFIX))
        _upload(served.root / "data" / "registry", registry.store)
        env = {
            "MLOPS_DATA_DIR": str(served.root / "data"),  # the online store: shared, read only
            "MLOPS_S3_BUCKET": BUCKET,
            "AWS_ENDPOINT_URL_S3": endpoint,
            "MLOPS_RELOAD_SECONDS": "0.5",
            "MLOPS_PROFILE_SECONDS": "1",
        }
        started = {}
        try:
            for name in SENT:
                port = free_port()
                log = tmp_path / f"{name}.log"
                started[name] = (start_bentoml_serve(REPO / "bento", port, env, log), port)
            for process, port in started.values():
                wait_until_ready(f"http://127.0.0.1:{port}/readyz", process, timeout=120)
            yield {
                "urls": {n: f"http://127.0.0.1:{port}" for n, (_, port) in started.items()},
                "registry": registry,
                "data": S3BlobStore(client, BUCKET, DATA_PREFIX),
            }
        finally:
            for process, _ in started.values():
                process.terminate()
            for process, _ in started.values():
                try:
                    process.wait(timeout=30)
                except Exception:
                    kill_tree(process)


class Traffic:
    """Predictions asked of the replicas, counted (every one must reach the log)."""

    def __init__(self):
        self.sent = 0

    def ask(self, url: str, n: int = 50) -> set[int]:
        versions = set()
        for _ in range(n // 50):
            answer = httpx.post(f"{url}/predict_many", json={PLURAL: [EXAMPLE] * 50}, timeout=60)
            assert answer.status_code == 200, answer.text
            self.sent += 50
            versions |= {p["model_version"] for p in answer.json()["predictions"]}
        return versions


def test_replicas_swap_together_and_every_row_they_serve_is_counted(replicas):
    urls, registry, traffic = replicas["urls"], replicas["registry"], Traffic()
    before = registry.production(MODEL)
    assert {n: traffic.ask(url) for n, url in urls.items()} == {n: {before.version} for n in urls}

    # a new production version: both replicas swap to it, without a restart
    files = {f: registry.read_file(before, f) for f in before.checksums}
    new = registry.register(MODEL, files, before.metadata)
    registry.promote(MODEL, new.version, "replica test")
    for url in urls.values():
        wait_for(
            f"{url} to serve v{new.version}",
            lambda url=url: traffic.ask(url) == {new.version},
            timeout=30,
        )
    for name, url in urls.items():
        assert traffic.ask(url, SENT[name]) == {new.version}
    month, total = EXAMPLE_MONTH, traffic.sent

    # every prediction of both replicas is in the log, once
    def logged():
        frame = read_prediction_log(replicas["data"], MODEL, month)
        return [frame] if frame.height >= total else None

    [log] = wait_for("both replicas' prediction logs", logged, timeout=30)
    assert log.height == total and log.get_column("request_id").n_unique() == total
    assert set(log.get_column("model_version")) == {before.version, new.version}
    writers = {  # predictions-<start>-<pid>-<tag>-<seq>.jsonl
        "-".join(k.rsplit("/", 1)[-1].split("-")[2:4])
        for k in replicas["data"].list(f"prediction_log/{MODEL}/")
    }
    assert len(writers) == 2, writers  # each replica process writes its own objects

    # the monitoring side merges both replicas' profiles: every served row is counted
    profiles = ProfileStore(replicas["data"])
    window = wait_for(
        "both replicas' profiles",
        lambda: (w := profiles.serving_window(MODEL, month)).rows >= total and w,
        timeout=30,
    )
    assert window.rows == total and not window.unreadable
    assert len({k.rsplit("/", 1)[-1].split("-")[1] for k in window.files}) == 2  # pids


class FlakyStore:
    """An object store (one object per flush, as S3) whose first write fails, as when the
    endpoint is unreachable; a folder underneath."""

    def __init__(self, root: Path):
        self.folder, self.failures = LocalBlobStore(root), 1

    def put(self, key: str, data: bytes) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("endpoint unreachable")
        self.folder.put(key, data)

    def list(self, prefix: str) -> list[str]:
        return self.folder.list(prefix)


def test_an_unwritable_store_loses_no_logged_prediction(tmp_path):
    store = FlakyStore(tmp_path)
    log = PredictionLog(store, MODEL)
    log.write([{"request_id": "r1", "month": EXAMPLE_MONTH}])
    log.flush()  # fails: logged, the lines kept
    assert store.list("prediction_log/") == []
    log.write([{"request_id": "r2", "month": EXAMPLE_MONTH}])
    log.flush()
    [key] = store.list("prediction_log/")
    assert [
        json.loads(line)["request_id"] for line in (tmp_path / key).read_text().splitlines()
    ] == [
        "r1",
        "r2",
    ]
