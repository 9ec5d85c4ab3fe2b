"""The registry on S3, through dagster-aws' client, against an S3-compatible server on
127.0.0.1 (moto): the only stand-in in the suite, for the one part that lives off this machine."""

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest

from mlops_assets.core.blob_store import S3BlobStore
from mlops_assets.core.registry.registry import CorruptModelError, ModelRegistry
from mlops_assets.resources.model_registry import ModelRegistryResource
from tests.conftest import free_port

BUCKET = "models"


@contextmanager
def moto_server(bucket: str = BUCKET) -> Iterator[str]:
    """A real moto S3 server on 127.0.0.1 (``mlops_assets.stack.s3_server``: moto with S3's
    atomic conditional writes) with ``bucket`` created; yields its endpoint URL.

    Credentials are set in the environment for the duration, so processes started inside
    (spawned registry writers) reach the same server with the same account.
    """
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlops_assets.stack.s3_server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("AWS_ACCESS_KEY_ID", "test")
            env.setenv("AWS_SECRET_ACCESS_KEY", "test")
            env.setenv("AWS_DEFAULT_REGION", "us-east-1")
            deadline = time.monotonic() + 60
            while True:
                try:
                    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
                    break
                except Exception:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.2)
            yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def s3_endpoint():
    with moto_server() as endpoint:
        yield endpoint


def test_registry_round_trips_versions_stages_and_checksums_on_s3(s3_endpoint):
    resource = ModelRegistryResource(s3_bucket=BUCKET, s3_endpoint_url=s3_endpoint)
    registry = resource.registry()
    v1 = registry.register("m", {"model.txt": b"tree-1"}, {"framework": "lightgbm"})
    v2 = registry.register("m", {"model.txt": b"tree-2"}, {"framework": "lightgbm"})
    assert [v.version for v in registry.versions("m")] == [1, 2]
    registry.promote("m", 2, reason="better", actor="pytest")
    registry.rollback("m", 1, reason="round trip", actor="pytest")
    assert registry.production("m").version == 1
    assert registry.stages("m") == {1: "production", 2: "archived"}
    assert registry.read_file(v2, "model.txt") == b"tree-2"

    client = boto3.client("s3", endpoint_url=s3_endpoint)
    key = "mlops-assets/registry/models/m/versions/1/model.txt"
    client.put_object(Bucket=BUCKET, Key=key, Body=b"tampered")
    with pytest.raises(CorruptModelError):
        registry.read_file(v1, "model.txt")


class IgnoresConditionalWrites:
    """An S3 client like a server that drops ``If-None-Match``: every PUT overwrites."""

    def __init__(self):
        self.objects = {}

    def put_object(self, Bucket, Key, Body, **conditions):  # boto3 parameter names
        self.objects[Key] = Body

    def list_objects_v2(self, Bucket, Prefix, **paging):
        return {"Contents": [{"Key": k} for k in sorted(self.objects) if k.startswith(Prefix)]}


def test_a_server_that_ignores_conditional_writes_is_refused_not_trusted():
    store = S3BlobStore(IgnoresConditionalWrites(), BUCKET, "registry")
    with pytest.raises(RuntimeError, match="ignored 'If-None-Match: \\*'"):
        ModelRegistry(store).register("m", {"model.txt": b"tree"}, {"framework": "lightgbm"})
