"""The registry on S3, through dagster-aws' client, against an S3-compatible server on
127.0.0.1 (moto): the only stand-in in the suite, for the one part that lives off this machine."""

import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from mlops_assets.core.registry import CorruptModelError
from mlops_assets.resources.model_registry import ModelRegistryResource
from tests.conftest import free_port


@pytest.fixture(scope="module")
def s3_endpoint(monkeypatch_module):
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch_module.setenv(name, value)
    deadline = time.monotonic() + 30
    while True:
        try:
            boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="models")
            break
        except Exception:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.2)
    yield endpoint
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_registry_round_trips_versions_stages_and_checksums_on_s3(s3_endpoint):
    resource = ModelRegistryResource(s3_bucket="models", s3_endpoint_url=s3_endpoint)
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
    client.put_object(Bucket="models", Key=key, Body=b"tampered")
    with pytest.raises(CorruptModelError):
        registry.read_file(v1, "model.txt")
