"""The BentoML service, served for real by `bentoml serve` on 127.0.0.1: parity with batch
scoring, 4xx (never 5xx) for bad input, health endpoints, and a model swap without a failed
request."""

import json
import os
import subprocess
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path

import duckdb
import httpx
import pytest

from mlops_assets.assets.serving import PREDICTIONS_TABLE
from mlops_assets.core.features.online_features import OnlineFeatures
from mlops_assets.core.serving.readiness import wait_until_ready
from mlops_assets.dataset import problem
from tests.conftest import free_port
from tests.contract import (
    EXAMPLE,
    MODEL,
    OUTPUT,
    PLURAL,
    SCORE,
    SERVED_SCORE,
    SERVING,
    TEST_MONTH,
    as_served,
    traffic,
)

REPO = Path(__file__).resolve().parent.parent
REQUEST = EXAMPLE  # one real request of the dataset


def test_served_predictions_equal_batch_scoring_for_the_same_rows(service, served, built_warehouse):
    features = OnlineFeatures.open(Path(served.resources["online"].root))
    requests = {features.entity_id(as_served(r)): r for r in traffic(TEST_MONTH, 60)}
    with duckdb.connect(str(built_warehouse), read_only=True) as conn:
        stored = dict(
            conn.execute(
                f"SELECT {problem.ENTITY_KEY}, {SCORE} FROM {PREDICTIONS_TABLE} "
                f"WHERE {problem.ENTITY_KEY} IN (SELECT unnest(?))",
                [list(requests)],
            ).fetchall()
        )
    assert len(stored) >= 30  # requests of rows the mart holds (flights: not cancelled ones)
    for entity, score in stored.items():
        response = service.post("/predict", json=requests[entity])
        assert response.status_code == 200, response.text
        assert abs(response.json()[SERVED_SCORE] - score) <= 1e-9, entity


def test_a_prediction_carries_version_threshold_and_request_id(service, served):
    body = service.post("/predict", json=REQUEST).json()
    assert body["model_version"] == served.registry.production(MODEL).version
    assert set(OUTPUT.values()) <= set(body), body
    if "threshold" in OUTPUT:  # a binary task: the label is the probability past the threshold
        probability, label = body[OUTPUT["probability"]], body[OUTPUT["predicted_label"]]
        assert label == (probability >= body["threshold"])
    assert len(body["request_id"]) == 32
    many = service.post("/predict_many", json={PLURAL: [REQUEST, REQUEST]})
    assert many.status_code == 200 and len(many.json()["predictions"]) == 2


def _without(field):
    return {k: v for k, v in REQUEST.items() if k != field}


REQUIRED = [f.name for f in SERVING.request_fields if f.required][-1]
FIRST = next(f.name for f in SERVING.request_fields if f.required)
# A list fits no declared field's type (text, number, date)
WRONG_TYPE = ["not", "a", "value"]
WHEN = next(f.name for f in SERVING.request_fields if f.type in (datetime, date))
# A column known only after the decision (or any undeclared one): a request carrying it is
# refused.
LATE = (*problem.POST_DECISION_COLUMNS, "known_only_later")[0]
# Entities the store does not know: tests/dataset/test_flight_service.py.
BAD = {
    "missing field": (_without(REQUIRED), REQUIRED),
    "extra field": ({**REQUEST, LATE: 12}, LATE),
    "wrong type": ({**REQUEST, FIRST: WRONG_TYPE}, FIRST),
    "impossible time": ({**REQUEST, WHEN: "2013-13-45T99:00:00"}, WHEN),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_requests_get_a_400_naming_the_field(service, case):
    body, field = BAD[case]
    response = service.post("/predict", json=body)
    assert response.status_code == 400, response.text
    assert field in response.text


def test_malformed_json_oversized_batch_and_pickle_are_refused_without_a_500(service):
    malformed = service.post(
        "/predict",
        content=json.dumps(REQUEST)[:-5].encode(),
        headers={"content-type": "application/json"},
    )
    assert 400 <= malformed.status_code < 500
    oversized = service.post("/predict_many", json={PLURAL: [REQUEST] * 1001})
    assert oversized.status_code == 400 and PLURAL in oversized.text
    pickled = service.post(
        "/predict",
        content=b"\x80\x04K\x01.",
        headers={"content-type": "application/vnd.bentoml+pickle"},
    )
    assert 400 <= pickled.status_code < 500


def test_health_and_metrics_endpoints(service):
    assert service.get("/livez").status_code == 200
    assert service.get("/readyz").status_code == 200
    metrics = service.get("/metrics")
    assert metrics.status_code == 200 and "bentoml" in metrics.text


def test_a_promotion_is_served_without_a_restart_or_a_failed_request(service, served):
    registry = served.registry
    before = registry.production(MODEL)
    other = next((v for v in registry.versions(MODEL) if v.version != before.version), None)
    if other is None:  # a one-framework project: the same model, registered again
        files = {name: registry.read_file(before, name) for name in before.checksums}
        other = registry.register(MODEL, files, before.metadata)
    statuses, versions, stop = [], [], threading.Event()

    def stream():
        while not stop.is_set():
            response = service.post("/predict", json=REQUEST)
            statuses.append(response.status_code)
            if response.status_code == 200:
                versions.append(response.json()["model_version"])

    client = threading.Thread(target=stream)
    client.start()
    try:
        time.sleep(1)
        registry.promote(MODEL, other.version, reason="test: hot swap", actor="pytest")
        deadline = time.monotonic() + 30
        while (not versions or versions[-1] != other.version) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        stop.set()
        client.join()
        registry.promote(MODEL, before.version, reason="test: restore", actor="pytest")
    assert set(statuses) == {200}, json.dumps(sorted(set(statuses)))
    assert versions[0] == before.version and versions[-1] == other.version


def test_the_service_imports_neither_dagster_nor_duckdb():
    code = (
        "import sys; sys.path.insert(0, 'bento'); import service; "
        "print(sorted(m for m in ('dagster', 'duckdb', 'dagster_dbt') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "BENTOML_DO_NOT_TRACK": "true"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_bento_is_built_with_the_production_model_and_serves_it(served, tmp_path):
    from mlops_assets.assets.serving import bento

    data_dir = served.root / "data"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import dagster as dg; from mlops_assets.assets.serving import bento; "
            "from mlops_assets.resources.model_registry import ModelRegistryResource; "
            "from mlops_assets.resources.online_store import OnlineStoreResource; "
            f"r = dg.materialize([bento], resources={{'model_registry': ModelRegistryResource("
            f"local_root='{data_dir / 'registry'}'), 'online': OnlineStoreResource("
            f"root='{data_dir / 'online_store'}')}}); "
            "m = r.asset_materializations_for_node('bento')[0].metadata; "
            "print(m['bento_tag'].value, m['bento_size_bytes'].value)",
        ],
        env={**os.environ, "MLOPS_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    tag, size = result.stdout.strip().splitlines()[-1].split()
    version = served.registry.production(MODEL).version
    assert tag == f"{MODEL}:v{version}" and int(size) > 10_000
    assert bento.key.to_user_string() == "bento"

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "MLOPS_DATA_DIR"}
    env.update({"BENTOML_HOME": str(tmp_path / "bentoml"), "BENTOML_DO_NOT_TRACK": "true"})
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "bentoml"),
            "serve",
            tag,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/readyz", process)
        body = httpx.post(f"http://127.0.0.1:{port}/predict", json=REQUEST, timeout=30).json()
        assert body["model_version"] == version
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_every_response_maps_to_model_version_training_set_and_commit(service, served):
    body = service.post("/predict", json=REQUEST).json()
    version = served.registry.get(MODEL, body["model_version"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the log is flushed every reload period
        records = [
            json.loads(line)
            for f in (served.root / "data" / "prediction_log" / MODEL).glob("*.jsonl")
            for line in f.read_text().splitlines()
        ]
        match = [r for r in records if r["request_id"] == body["request_id"]]
        if match:
            break
        time.sleep(0.2)
    [record] = match
    assert record["model_version"] == version.version
    assert record["training_set_hash"] == version.metadata["lineage"]["training_set_hash"]
    assert record["git_commit"] == version.metadata["lineage"]["git_commit"]
    text = FIRST  # flights: the carrier
    assert record["request"][text] == REQUEST[text]
    features = OnlineFeatures.open(Path(served.resources["online"].root))
    request = as_served(REQUEST)
    assert record["entity_id"] == features.entity_id(request)  # flights: tests/dataset
    assert record["month"] == features.month(request)


def test_adaptive_batching_answers_each_caller_with_its_own_rows(service):
    from concurrent.futures import ThreadPoolExecutor

    requests = traffic(TEST_MONTH, 12)
    single = [service.post("/predict", json=r).json()[SERVED_SCORE] for r in requests]

    def call(i: int):
        return service.post("/predict_batched", json={PLURAL: requests[i : i + 3]})

    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(call, range(0, len(requests), 3)))
    got = []
    for response in responses:
        assert response.status_code == 200, response.text
        got += [p[SERVED_SCORE] for p in response.json()]
    assert got == pytest.approx(single, abs=1e-9)
