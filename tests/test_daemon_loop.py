"""The closed loop on Dagster's own daemon: `mlops-demo` starts `dagster dev` and `bentoml serve`
against a fresh instance, delivers months and sends traffic; everything else is launched by
sensors under the daemon. The assertions read the instance and the registry afterwards.

Real parts only: the dataset's real months (its demo's history and first served month,
``dataset/demo.py``), the project's dagster.yaml, real runs of every job, a real service on
127.0.0.1. About five minutes.
"""

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import psutil
import pytest

from mlops_assets.assets.features import FEATURE_MART
from mlops_assets.core.months import month_after
from mlops_assets.dataset import demo as world
from mlops_assets.demo.run import demo_env
from mlops_assets.demo.timeline import latest_metadata, user_error
from tests.conftest import REPO, free_port
from tests.processes import stop_processes as _stop

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
# Two served months from the demo's first; drift injected into the second, the month after it
# delivered with the demo's schema fault.
SERVED = (world.FIRST, month_after(world.FIRST))
INJECTED, BAD = SERVED[-1], month_after(SERVED[-1])


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    data = tmp_path_factory.mktemp("daemon_loop") / "data"
    env = demo_env(data)
    args = [
        str(BIN / "mlops-demo"),
        *("--history", world.HISTORY, "--first", SERVED[0], "--last", SERVED[-1]),
        *("--inject-drift", INJECTED, "--requests", "1000", "--redeliver-last"),
        *("--bad-month", BAD, "--port", str(free_port()), "--ui-port", str(free_port())),
    ]
    try:
        demo = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True, timeout=1200)
    except subprocess.TimeoutExpired:
        # the demo's servers run in sessions of their own: stop them, or they run on and slow
        # every later test
        _stop(_processes_of(data))
        raise
    log = demo.stdout[-6000:] + demo.stderr[-3000:]
    assert demo.returncode == 0, log
    instance = dg.DagsterInstance.from_config(str(data / "dagster_home"))
    runs = instance.get_runs()
    yield {"data": data, "instance": instance, "runs": runs, "log": log}
    instance.dispose()


def _tagged(runs, job: str, month: str | None = None):
    return [
        r
        for r in runs
        if r.job_name == job and (month is None or r.tags.get("mlops/month") == month)
    ]


def _status(instance, key: str, month: str) -> str | None:
    latest = latest_metadata(instance, key, month)
    return latest[1]["status"] if latest else None


def test_every_run_came_from_a_sensor_and_only_the_injected_fault_is_red(loop):
    runs = loop["runs"]
    assert runs and all("dagster/sensor_name" in r.tags for r in runs), loop["log"]
    red = [r for r in runs if r.status != dg.DagsterRunStatus.SUCCESS]
    assert [(r.job_name, r.tags.get("mlops/month")) for r in red] == [("land_months", BAD)]
    failure = next(
        e
        for e in loop["instance"].all_logs(red[0].run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    )
    message = user_error(failure.dagster_event.step_failure_data.error)
    table, column, _ = world.SCHEMA_FAULT
    assert f"'{table}'" in message and column in message, message


def test_one_retrain_per_drifted_month_and_promotion_only_through_the_gate(loop):
    runs, instance = loop["runs"], loop["instance"]
    [cold] = [r for r in _tagged(runs, "retrain") if r.tags["mlops/trigger"] == "cold start"]
    assert cold.tags["mlops/month"] == month_after(SERVED[0], -1)  # the last history month
    for month in SERVED:
        drifted = "drift" in {
            _status(instance, k, month) for k in ("arrival_drift", "serving_drift")
        }
        assert len(_tagged(runs, "retrain", month)) == int(drifted), (month, loop["log"])
    promoted = [r for r in _tagged(runs, "retrain") if r.tags["mlops/outcome"].startswith("promo")]
    events = _production_events(loop["data"])
    assert len(events) == len(promoted), loop["log"]
    refused = [r for r in _tagged(runs, "retrain") if r.tags["mlops/outcome"].startswith("kept")]
    assert all("does not beat" in r.tags["mlops/outcome"] for r in refused)


def _production_events(data: Path) -> list[dict]:
    from mlops_assets.resources.model_registry import ModelRegistryResource

    resource = ModelRegistryResource(local_root=str(data / "registry"))
    return [
        e for e in resource.registry().events(resource.model_name) if e["stage"] == "production"
    ]


def _materialized_at(instance, run_id: str, key: dg.AssetKey) -> float:
    """When a run materialized an asset (infinity when it did not)."""
    stamps = [
        e.timestamp
        for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        if e.asset_materialization.asset_key == key
    ]
    return min(stamps, default=float("inf"))


def test_no_model_is_trained_or_tested_on_data_after_the_month_that_triggered_it(loop):
    runs, instance = loop["runs"], loop["instance"]
    for run in _tagged(runs, "retrain"):
        # A month has landed for the sensors once its run materialized the feature mart (the
        # run itself may still be finishing its last steps when the retrain is requested).
        created = instance.get_run_record_by_id(run.run_id).create_timestamp.timestamp()
        landed = [
            r.tags["mlops/month"]
            for r in _tagged(runs, "land_months")
            if r.status == dg.DagsterRunStatus.SUCCESS
            and _materialized_at(instance, r.run_id, FEATURE_MART) < created
        ]
        trigger = run.tags["mlops/month"]
        assert trigger <= max(landed), (trigger, landed)
        [training] = [
            e.asset_materialization
            for e in instance.all_logs(
                run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            )
            if e.asset_materialization.asset_key == dg.AssetKey("training_set")
        ]
        split = training.metadata["split"].value
        # [start, end) bounds: nothing on or after the first day of the month after the trigger
        end = max(hi for _, hi in split.values())
        assert end <= f"{month_after(trigger)}-01", (trigger, json.dumps(split))


def test_a_redelivered_month_loads_once_and_monitoring_runs_a_handful_of_times(loop):
    runs = loop["runs"]
    assert len(_tagged(runs, "land_months", SERVED[-1])) == 1
    assert f"re-delivery of {SERVED[-1]}, unchanged: 0 run(s) launched" in loop["log"]
    for month in SERVED:
        assert 1 <= len(_tagged(runs, "monitor", month)) <= 2


def test_the_served_features_of_every_monitored_month_equal_the_marts(loop):
    """Each monitor run also compares the features the service computed for the month's
    logged requests with the mart's (serving_skew): no month shows a difference."""
    statuses = {m: _status(loop["instance"], "serving_skew", m) for m in SERVED}
    assert "skew" not in statuses.values() and "ok" in statuses.values(), statuses


def _processes_of(data: Path) -> list[psutil.Process]:
    """Every process started for the demo of ``data`` (they inherit its MLOPS_DATA_DIR)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if process.environ().get("MLOPS_DATA_DIR") == str(data):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_the_demo_leaves_no_process_behind(loop):
    assert [p.info["cmdline"] for p in _processes_of(loop["data"])] == []
