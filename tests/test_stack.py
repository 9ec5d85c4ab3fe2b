"""The scale-out stack, for real: PostgreSQL, Redis, moto's S3 server and two Celery workers on
127.0.0.1 (`mlops-stack up`), and the project's own job run on it by configuration only.

Marked `stack` (`make test-stack` installs the Debian servers first; `.ci/run` runs it).
"""

import json
import os
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from mlops_assets.dataset import problem
from mlops_assets.dataset.raw_tables import EVENT_TABLE
from tests.conftest import BIN, REPO
from tests.contract import FIRST_MONTH, partition
from tests.stack_helpers import temporary_stack

pytestmark = pytest.mark.stack

MONTH = {"dagster/partition": partition(FIRST_MONTH)}


@pytest.fixture(scope="module")
def stack():
    with temporary_stack("mlops-stack-") as up:
        yield up


@pytest.fixture(scope="module")
def landed(stack):
    """January landed and its features built: `build_features` with the stack's environment,
    the same command `make features` runs locally."""
    env = {**os.environ, **stack.env()}
    command = [str(BIN / "dagster"), "job", "execute", "-m", "mlops_assets.definitions"]
    command += ["-j", "build_features", "--tags", json.dumps(MONTH)]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return env


@pytest.fixture(scope="module")
def instance(stack, landed):
    import dagster as dg

    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = stack.env()["DAGSTER_HOME"]
    os.environ["MLOPS_PG_PORT"] = str(stack.postgres_port)
    try:
        with dg.DagsterInstance.get() as inst:
            yield inst
    finally:
        os.environ["DAGSTER_HOME"] = previous or ""


def events(instance, run_id):
    return [
        r.event_log_entry
        for r in instance.get_records_for_run(run_id, limit=100000).records
        if r.event_log_entry.dagster_event
    ]


def the_run(instance):
    import dagster as dg

    runs = instance.get_runs(dg.RunsFilter(job_name="build_features"))
    assert len(runs) == 1
    assert runs[0].status == dg.DagsterRunStatus.SUCCESS
    return runs[0]


def test_runs_and_events_are_stored_in_postgres(instance):
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    run = the_run(instance)
    materialized = {
        e.dagster_event.asset_key.to_user_string()
        for e in events(instance, run.run_id)
        if e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
    }
    assert {f"raw/{EVENT_TABLE.name}", problem.FEATURE_TABLE.replace(".", "/")} <= materialized


def test_steps_run_in_the_celery_workers_not_in_the_run_worker(instance, stack):
    import psutil

    from mlops_assets.stack import services

    run = the_run(instance)
    entries = events(instance, run.run_id)
    run_worker = {
        e.dagster_event.pid for e in entries if e.dagster_event.event_type_value == "RUN_START"
    }
    step_pids = {
        e.dagster_event.pid for e in entries if e.dagster_event.event_type_value == "STEP_START"
    }
    _, pids = services.load(Path(stack.folder))
    workers = {pid for name, pid in pids.items() if name.startswith("worker")}
    assert len(workers) == 2
    # each worker executes its steps in its one pool child (prefork, concurrency 1)
    executing = {c.pid for pid in workers for c in psutil.Process(pid).children()}
    assert step_pids and step_pids <= executing, (step_pids, executing)
    assert not step_pids & run_worker


def test_warehouse_steps_never_overlap_across_workers(instance):
    run = the_run(instance)
    spans: dict[str, list[float]] = {}
    for e in events(instance, run.run_id):
        kind = e.dagster_event.event_type_value
        if kind in ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE"):
            spans.setdefault(e.step_key, []).append(e.timestamp)
    intervals = sorted((min(t), max(t), step) for step, t in spans.items())
    assert len(intervals) >= 3
    # every step of these jobs writes the warehouse: all are in the "duckdb" pool
    for (_, end, step), (start, _, following) in zip(intervals, intervals[1:], strict=False):
        assert start >= end, (
            f"{following} started at {datetime.fromtimestamp(start)} before {step} ended "
            f"at {datetime.fromtimestamp(end)}"
        )


def test_step_outputs_pass_through_the_s3_server_as_json(stack, monkeypatch):
    """The project's io_manager, configured by MLOPS_S3_BUCKET, hands one asset's output to the
    next through the stack's S3 server (what every Celery worker reads)."""
    import boto3
    import dagster as dg

    from mlops_assets.core.blob_store import DATA_PREFIX
    from mlops_assets.resources.json_io_manager import JsonIOManager

    env = stack.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    @dg.asset
    def reference() -> dict:
        return {"version": 7, "months": ["2013-01"]}

    @dg.asset
    def consumer(reference: dict) -> int:
        return reference["version"] + 1

    result = dg.materialize([reference, consumer], resources={"io_manager": JsonIOManager()})
    assert result.success and result.output_for_node("consumer") == 8
    client = boto3.client("s3")
    body = client.get_object(
        Bucket=env["MLOPS_S3_BUCKET"], Key=f"{DATA_PREFIX}/dagster/reference.json"
    )
    assert json.loads(body["Body"].read()) == {"version": 7, "months": ["2013-01"]}
