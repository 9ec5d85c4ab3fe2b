"""Faults against a real `bentoml serve` on 127.0.0.1: the OpenAPI contract under a fuzzer,
overload, SIGTERM under load, a damaged model file, and a data folder given wrongly.

Each test starts its own service on a copy of the served lab's registry and online store, so
what it breaks (a model file, the process) stays its own. Figures (latencies, counts under
wrk) are measured by `benchmarks/reliability.py` and recorded in docs/reliability.md; these
tests assert behaviour only.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import psutil
import pytest

from mlops_assets.core.serving.readiness import kill_tree, start_bentoml_serve, wait_until_ready
from tests.conftest import free_port
from tests.contract import EXAMPLE, EXAMPLE_MONTH, MODEL, PLURAL, SERVING

REPO = Path(__file__).resolve().parent.parent
REQUEST = EXAMPLE  # one real request of the dataset
# a required number field: "one" is refused by the request model
FIRST = next(f.name for f in SERVING.request_fields if f.required)


class Service:
    """One `bentoml serve` process on its own data folder; stopped by ``stop``."""

    def __init__(self, data: Path, env: dict[str, str] | None = None):
        self.data, self.port = data, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data.parent / "bentoml.log"
        self.process = start_bentoml_serve(
            REPO / "bento",
            self.port,
            env={
                "MLOPS_DATA_DIR": str(data),
                "MLOPS_RELOAD_SECONDS": "0.5",
                "MLOPS_DRAIN_SECONDS": "0.5",
                **(env or {}),
            },
            log=self.log,
        )

    def wait_ready(self) -> None:
        try:
            wait_until_ready(f"{self.url}/readyz", self.process, timeout=90)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise AssertionError(f"{exc}\n{self.log.read_text()[-3000:]}") from None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                kill_tree(self.process)


def _copy_data(served, root: Path) -> Path:
    """The lab's registry and online store (no logs or profiles) in a folder of the test's."""
    data = root / "data"
    for part in ("registry", "online_store"):
        shutil.copytree(served.root / "data" / part, data / part)
    return data


@pytest.fixture
def start(served, tmp_path):
    """Start services on a copy of the lab's data; all of them are stopped afterwards."""
    started: list[Service] = []

    def _start(env: dict[str, str] | None = None, ready: bool = True) -> Service:
        service = Service(_copy_data(served, tmp_path / f"s{len(started)}"), env)
        started.append(service)
        if ready:
            service.wait_ready()
        return service

    yield _start
    for service in started:
        service.stop()


@pytest.mark.slow
def test_the_openapi_contract_holds_under_schemathesis(start, tmp_path):
    service = start()
    report = tmp_path / "schemathesis.json"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{service.url}/docs.json",
            # every check but one: a date outside the store's calendar is a documented 400
            # that no JSON schema can express (docs/reliability.md)
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-examples",
            "60",
            "--seed",
            "1",
            "--workers",
            "1",
            "--phases",
            "examples,coverage,fuzzing",
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,  # its cache folder stays out of the repository
        env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"},
    )
    assert result.returncode == 0, result.stdout[-6000:]
    assert "/predict_batched" in result.stdout and "/predict_many" in result.stdout


def test_every_error_has_the_documented_shape(start):
    service = start()
    spec = httpx.get(f"{service.url}/docs.json").json()
    for path in ("/predict", "/predict_many", "/predict_batched"):
        responses = spec["paths"][path]["post"]["responses"]
        assert {"400", "415", "429", "500", "503"} <= set(responses), path
        assert responses["400"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
    cases = {
        # an unknown entity's error (flights: carrier): tests/dataset/test_flight_service.py
        "/predict": ({**REQUEST, FIRST: ["not", "a", "value"]}, FIRST),
        "/predict_many": ({PLURAL: []}, PLURAL),
        "/predict_batched": ({PLURAL: []}, PLURAL),
    }
    for path, (body, field) in cases.items():
        response = httpx.post(f"{service.url}{path}", json=body, timeout=30)
        assert response.status_code == 400, (path, response.text)
        error = response.json()
        assert isinstance(error, dict) and set(error) <= {"error", "detail"}, error
        assert isinstance(error["error"], str) and error["error"].startswith(field), error
        assert isinstance(error.get("detail", ""), str)
    log = service.log.read_text()
    assert "Traceback" not in log and "[ERROR]" not in log, log[-2000:]


@pytest.mark.slow
def test_overload_answers_429_while_health_endpoints_answer(start):
    service = start({"MLOPS_MAX_CONCURRENCY": "2"})
    heavy = {PLURAL: [REQUEST] * 1000}
    codes: Counter = Counter()
    health: list[int] = []
    stop = threading.Event()

    def load():
        with httpx.Client(base_url=service.url, timeout=60) as client:
            while not stop.is_set():
                response = client.post("/predict_many", json=heavy)
                codes[response.status_code] += 1
                if response.status_code == 429:
                    assert "error" in response.json()

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        with httpx.Client(base_url=service.url, timeout=10) as probe:
            for _ in range(10):
                health += [probe.get(p).status_code for p in ("/livez", "/readyz", "/metrics")]
                time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert codes[429] > 0 and codes[200] > 0, codes
    assert set(codes) <= {200, 429}, codes
    assert set(health) == {200}, health


@pytest.mark.slow
def test_sigterm_under_load_loses_no_request_and_flushes_log_and_profiles(start):
    from benchmarks.reliability import sigterm_under_load

    # Log and profiles reach disk only at shutdown: the periodic flushes are an hour away.
    service = start(
        {
            "MLOPS_RELOAD_SECONDS": "3600",
            "MLOPS_PROFILE_SECONDS": "3600",
            "MLOPS_DRAIN_SECONDS": "1",
        }
    )
    workers = psutil.Process(service.process.pid).children(recursive=True)
    run = sigterm_under_load(service.process, service.url)  # waits for the exit (60 s at most)
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == [], "a worker outlived `bentoml serve`"
    in_flight, after = run["in_flight"], run["after"]
    assert set(in_flight) == {200} and in_flight[200] > 50, in_flight
    assert set(after) <= {200, "refused"}, after
    assert run["exit_code"] == 0, service.log.read_text()[-2000:]

    answered = in_flight[200] + after[200]
    logged = [
        json.loads(line)
        for f in (service.data / "prediction_log" / MODEL).glob("*.jsonl")
        for line in f.read_text().splitlines()
    ]
    assert len(logged) == answered
    profiles = list((service.data / "profiles" / "serving" / MODEL / EXAMPLE_MONTH).glob("*.bin"))
    assert sum(int(p.stem.rsplit("-", 1)[-1]) for p in profiles) == answered


@pytest.mark.slow
def test_a_damaged_model_file_is_never_served(start, served):
    from mlops_assets.core.blob_store import LocalBlobStore
    from mlops_assets.core.registry.registry import ModelRegistry

    service = start()
    registry = ModelRegistry(LocalBlobStore(service.data / "registry"))
    before = registry.production(MODEL)
    files = {name: registry.read_file(before, name) for name in before.checksums}
    # The service is paused while a new version is promoted and then damaged on disk, so it
    # first sees the promoted version with a bad file.
    service.process.send_signal(signal.SIGSTOP)
    for child in _children(service.process.pid):
        os.kill(child, signal.SIGSTOP)
    try:
        damaged = registry.register(MODEL, files, before.metadata)
        registry.promote(MODEL, damaged.version, reason="test: to be damaged", actor="pytest")
        name = next(iter(files))
        path = service.data / "registry" / "models" / MODEL / "versions"
        (path / str(damaged.version) / name).write_bytes(files[name][: len(files[name]) // 2])
    finally:
        for child in _children(service.process.pid):
            os.kill(child, signal.SIGCONT)
        service.process.send_signal(signal.SIGCONT)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready = httpx.get(f"{service.url}/readyz", timeout=10)
        if "kept the loaded model" in ready.text:
            break
        time.sleep(0.3)
    assert ready.status_code == 200 and "sha256" in ready.text, ready.text
    answer = httpx.post(f"{service.url}/predict", json=REQUEST, timeout=30).json()
    assert answer["model_version"] == before.version
    metrics = httpx.get(f"{service.url}/metrics", timeout=10).text
    assert "mlops_model_reload_failures" in metrics

    # A service that starts on it serves nothing, and says why.
    fresh = Service(service.data)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"{fresh.url}/readyz", timeout=10)
                if ready.status_code == 503 and "sha256" in ready.text:
                    break
            except httpx.HTTPError:
                pass
            assert fresh.process.poll() is None, fresh.log.read_text()[-2000:]
            time.sleep(0.5)
        assert ready.status_code == 503 and f"v{damaged.version}" in ready.text, ready.text
        refused = httpx.post(f"{fresh.url}/predict", json=REQUEST, timeout=30)
        assert refused.status_code == 503 and "sha256" in refused.json()["error"]
    finally:
        fresh.stop()


def _children(pid: int) -> list[int]:
    return [child.pid for child in psutil.Process(pid).children(recursive=True)]


@pytest.mark.parametrize("given", ["relative", "missing"])
def test_a_wrong_data_folder_stops_the_service_with_the_fix(given, tmp_path):
    value = "data" if given == "relative" else str(tmp_path / "nowhere")
    log = tmp_path / "bentoml.log"
    process = start_bentoml_serve(REPO / "bento", free_port(), {"MLOPS_DATA_DIR": value}, log)
    try:
        exit_code = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            kill_tree(process)
    assert exit_code != 0
    output = log.read_text()
    expected = "is relative" if given == "relative" else "no data folder"
    assert expected in output
    assert not (REPO / "bento" / "data").exists()


def test_the_service_does_not_pin_its_host_so_a_container_can_reach_it():
    code = (
        "import sys; sys.path.insert(0, 'bento'); import service; "
        "print(service.PredictionService.config)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    config = result.stdout.strip().splitlines()[-1]
    assert "'host'" not in config and "max_concurrency" in config
