"""Faults of the orchestration layer, with real processes: the code location loaded without an
activated venv, a run worker killed with SIGKILL under the real daemon, and two processes
writing the DuckDB warehouse at once."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import dagster as dg
import duckdb
import psutil
import pytest
from dagster._core.events import DagsterEventType

from mlops_assets.dataset import problem
from mlops_assets.resources.model_registry import ModelRegistryResource
from mlops_assets.resources.warehouse import (
    WAREHOUSE_POOL,
    WarehouseLockedError,
    WarehouseResource,
)
from tests.conftest import BIN, REPO, free_port
from tests.model_lab import MODEL, SMALL
from tests.processes import started, wait_for

# --- the code location without an activated venv ---------------------------------------------


@pytest.mark.slow
def test_definitions_load_and_prepare_dbt_without_the_venv_on_path(tmp_path):
    """IDEs, cron and process managers run `.venv/bin/dagster` with PATH lacking the venv."""
    # A copy of the code, so that `dbt parse` writes its own target/, not the one that this
    # and concurrent test sessions load.
    skip = shutil.ignore_patterns("__pycache__", "target", "logs", "dbt_packages")
    for part in ("mlops_assets", "dbt_project"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=skip)
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(tmp_path),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "DAGSTER_HOME": os.environ["DAGSTER_HOME"],
        "MLOPS_DATA_DIR": str(tmp_path / "data"),
        "DO_NOT_TRACK": "1",
        # as under `dagster dev`: prepare_if_dev() runs `dbt parse` while definitions load
        "DAGSTER_IS_DEV_CLI": "1",
    }
    result = subprocess.run(
        [str(BIN / "dagster"), "asset", "list", "-m", "mlops_assets.definitions"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "dbt_project" / "target" / "manifest.json").exists()
    assets = set(result.stdout.split())
    # the dbt models are assets: the mart and its staging models
    assert problem.FEATURE_TABLE.replace(".", "/") in assets, assets
    assert any(a.startswith("staging/stg_") for a in assets), assets


# --- a run worker killed under the daemon -----------------------------------------------------


def run_config(ops: dict, **extra) -> str:
    return json.dumps({"ops": {k: {"config": v} for k, v in ops.items()}, **extra})


# Whatever the follow-up trains is promoted (margin -1), so it runs the whole job to the Bento
# (in the run's process: the project's default executor).
FOLLOW_UP = run_config(
    {
        **SMALL,
        "lightgbm_candidate": {"num_boost_round": 20},
        # >>> pytorch
        "torch_candidate": {"max_epochs": 1},
        # <<< pytorch
        "model_evaluation_promotion_gate": {"margin": -1.0},
        "production_model": {"margin": -1.0},
    },
)


def launch(env: dict, config: str) -> tuple[str, subprocess.Popen]:
    """Queue a retrain run through the CLI, as a user would; the daemon launches it."""
    run_id = str(uuid.uuid4())
    cli = subprocess.Popen(
        [
            str(BIN / "dagster"),
            *("job", "launch", "-w", "workspace.yaml", "-j", "retrain"),
            *("--run-id", run_id, "--config-json", config),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return run_id, cli


def launched(cli: subprocess.Popen) -> None:
    out, _ = cli.communicate(timeout=300)
    assert cli.returncode == 0, out[-3000:]


def intact_versions(registry) -> dict[int, dict[str, str]]:
    """Every listed version with its checksums, each file read back and verified."""
    versions = {}
    for version in registry.versions(MODEL):
        for filename in version.checksums:
            registry.read_file(version, filename)  # raises CorruptModelError
        versions[version.version] = version.checksums
    return versions


def slot_holders(instance) -> set[tuple[str, str]]:
    info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
    return {(slot.run_id, slot.step_key) for slot in info.claimed_slots}


def first_event(instance, run_id: str, kind: DagsterEventType, step_key: str | None = None):
    events = instance.all_logs(run_id, of_type=kind)
    return next((e for e in events if step_key is None or e.step_key == step_key), None)


def failures(instance, run_id: str) -> list[str]:
    """What went wrong in a run: its step and run failure messages, with their errors."""
    kinds = {DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE}
    return [
        f"{e.step_key}: {e.message} {e.dagster_event.event_specific_data}"[:2000]
        for e in instance.all_logs(run_id, of_type=kinds)
    ]


def isolated_env(served, built_warehouse, tmp_path) -> dict:
    """A fresh instance and a copy of the served registry; the session's warehouse. (Three
    processes creating a fresh SQLite instance at once can stamp two alembic heads, so its
    databases are created here first.)"""
    data = tmp_path / "data"
    for part in ("registry", "online_store"):  # a copy: other tests read the served registry
        shutil.copytree(served.root / "data" / part, data / part)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "config" / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "MLOPS_DATA_DIR": str(data),
        "DUCKDB_DATABASE": str(built_warehouse),
    }
    env.pop("DAGSTER_IS_DEV_CLI", None)
    dg.DagsterInstance.from_config(str(home)).dispose()
    return env


@pytest.mark.slow
def test_a_killed_retrain_fails_frees_the_warehouse_pool_and_the_next_retrain_succeeds(
    served, built_warehouse, tmp_path
):
    """SIGKILL the run worker while its training-set step holds the one ``duckdb`` pool slot:
    the run must end FAILURE, the registry must be as it was, and the slot must come back
    (run monitoring's ``free_slots_after_run_end_seconds``), or every later retrain, feature
    build and batch score would queue behind a dead run for ever."""
    env = isolated_env(served, built_warehouse, tmp_path)
    home = env["DAGSTER_HOME"]
    registry = ModelRegistryResource(local_root=env["MLOPS_DATA_DIR"] + "/registry").registry()
    production, versions = registry.production(MODEL), intact_versions(registry)
    assert production is not None
    daemon_log = tmp_path / "daemon.log"

    with (
        started(
            [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            daemon_log,
            cwd=REPO,
            env=env,
        ) as daemon,
        dg.DagsterInstance.from_config(str(home)) as instance,
    ):
        try:
            killed, cli = launch(env, run_config(SMALL))
            launched(cli)
            wait_for(
                "the training_set step to take the duckdb slot",
                lambda: first_event(instance, killed, DagsterEventType.STEP_START, "training_set"),
                timeout=300,
                every=0.1,
            )
            worker_pid = first_event(instance, killed, DagsterEventType.RUN_START).dagster_event.pid
            worker = psutil.Process(worker_pid)
            assert worker in daemon.descendants(), "the run worker is not the daemon's"
            assert (killed, "training_set") in slot_holders(instance)
            steps = worker.children(recursive=True)
            worker.kill()
            killed_at = time.monotonic()

            wait_for(
                "the killed run to finish",
                lambda: instance.get_run_by_id(killed).is_finished,
                timeout=120,
            )
            seconds_to_failure = time.monotonic() - killed_at
            assert instance.get_run_by_id(killed).status == dg.DagsterRunStatus.FAILURE
            # The orphaned step process (its parent is gone) finishes its step and exits.
            _, orphans = psutil.wait_procs(steps, timeout=120)
            assert not orphans, f"step processes of the killed run still alive: {orphans}"
            seconds_to_orphans_gone = time.monotonic() - killed_at
            assert registry.production(MODEL) == production
            assert intact_versions(registry) == versions, "the killed run changed the registry"

            follow_up, cli = launch(env, FOLLOW_UP)
            wait_for(
                "the dead run's duckdb slot to be freed",
                lambda: (killed, "training_set") not in slot_holders(instance),
                timeout=120,
                every=0.5,
            )
            seconds_to_free_slot = time.monotonic() - killed_at
            launched(cli)
            wait_for(
                "the follow-up retrain to finish",
                lambda: instance.get_run_by_id(follow_up).is_finished,
                timeout=600,
                every=1,
            )
            record = instance.get_run_record_by_id(follow_up)
            assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS, failures(
                instance, follow_up
            )
        except BaseException:
            print(daemon_log.read_text()[-5000:])
            raise
        follow_up_seconds = record.end_time - record.start_time

    promoted = registry.production(MODEL)
    assert promoted.version not in versions
    assert promoted.metadata["lineage"]["dagster_run_id"] == follow_up
    after = intact_versions(registry)
    assert {v: after[v] for v in versions} == versions
    print(
        f"\nkill -9 -> FAILURE {seconds_to_failure:.1f} s; orphaned steps gone "
        f"{seconds_to_orphans_gone:.0f} s after the kill; duckdb slot freed "
        f"{seconds_to_free_slot:.1f} s after the kill; follow-up retrain "
        f"{follow_up_seconds:.0f} s; "
        f"production v{production.version} kept, then v{promoted.version} promoted"
    )


@pytest.mark.slow
def test_ctrl_c_stops_dev_within_30_s_with_a_retrain_in_flight(served, built_warehouse, tmp_path):
    """`make dev` is `mlops-dev`: Ctrl-C during a retrain cancels the run (it ends CANCELED,
    the registry unchanged) and every process of `dagster dev` is gone within 30 s."""
    env = isolated_env(served, built_warehouse, tmp_path)
    registry = ModelRegistryResource(local_root=env["MLOPS_DATA_DIR"] + "/registry").registry()
    production, versions = registry.production(MODEL), intact_versions(registry)
    port = free_port()
    dev = subprocess.Popen(
        [str(BIN / "mlops-dev"), "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        try:
            wait_for(
                "the daemon to run",
                lambda: "SENSOR" in instance.get_daemon_heartbeats(),
                timeout=180,
            )
            run_id, cli = launch(env, run_config(SMALL))
            launched(cli)
            wait_for(
                "a training step to start",
                lambda: first_event(instance, run_id, DagsterEventType.STEP_START, "training_set"),
                timeout=300,
                every=0.2,
            )
            family = psutil.Process(dev.pid).children(recursive=True)
            dev.send_signal(signal.SIGINT)
            stopping = time.monotonic()
            out, _ = dev.communicate(timeout=60)
            seconds = time.monotonic() - stopping
        finally:
            if dev.poll() is None:
                dev.kill()
        assert seconds <= 30, out[-3000:]
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.CANCELED, out[-3000:]
    _, alive = psutil.wait_procs(family, timeout=5)
    assert not alive, [p.cmdline() for p in alive]
    assert registry.production(MODEL) == production
    assert intact_versions(registry) == versions
    print(f"\nCtrl-C with a retrain in flight: stopped in {seconds:.1f} s, run CANCELED")


# --- two writers on the warehouse -------------------------------------------------------------

HOLDER = textwrap.dedent(
    """
    import sys, time
    from mlops_assets.resources.warehouse import WarehouseResource

    database, hold = sys.argv[1], float(sys.argv[2])
    with WarehouseResource(database=database).get_connection() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS writes (writer TEXT, n INTEGER)")
        conn.execute("BEGIN")
        conn.execute("INSERT INTO writes SELECT 'holder', range FROM range(500)")
        print("holding", flush=True)
        time.sleep(hold)
        conn.execute("INSERT INTO writes SELECT 'holder', range FROM range(500, 1000)")
        conn.execute("COMMIT")
    """
)


def test_a_second_warehouse_writer_waits_for_the_lock_or_fails_fast_naming_the_file(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    hold = 4.0
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(database), str(hold)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        locked_at = time.monotonic()

        impatient = WarehouseResource(database=str(database), lock_timeout_seconds=0.5)
        with pytest.raises(WarehouseLockedError) as refused, impatient.get_connection():
            pass
        fail_fast = time.monotonic() - locked_at
        message = str(refused.value)
        assert str(database) in message
        assert "lock_timeout_seconds=0.5" in message
        assert "raise lock_timeout_seconds" in message and "DuckDB said" in message
        assert isinstance(refused.value, duckdb.IOException)  # DuckDB's own handlers still apply
        assert fail_fast < 3, fail_fast

        patient = WarehouseResource(database=str(database), lock_timeout_seconds=60)
        with patient.get_connection() as conn:
            waited = time.monotonic() - locked_at
            conn.execute("INSERT INTO writes SELECT 'second', range FROM range(300)")
        assert holder.wait(timeout=30) == 0
    finally:
        holder.kill()
        holder.wait()
    assert hold - 1 < waited < hold + 10, waited

    with duckdb.connect(str(database), read_only=True) as conn:
        rows = dict(conn.execute("SELECT writer, count(*) FROM writes GROUP BY 1").fetchall())
        holder_rows = conn.execute(
            "SELECT count(DISTINCT n), min(n), max(n) FROM writes WHERE writer = 'holder'"
        ).fetchone()
    assert rows == {"holder": 1000, "second": 300}
    assert holder_rows == (1000, 0, 999)
    print(
        f"\nlock: fail-fast after {fail_fast:.2f} s, waited {waited:.1f} s for a {hold:.0f} s hold"
    )


def test_a_step_whose_run_has_ended_changes_nothing_in_the_registry():
    """An orphaned step (its run worker killed, the run marked failed) must not register or
    promote: the registry writes ask the instance first; a live run goes on."""
    from types import SimpleNamespace

    import dagster as dg
    import pytest

    from mlops_assets.assets.run_guard import refuse_if_run_ended

    @dg.asset
    def guarded(context: dg.AssetExecutionContext) -> None:
        refuse_if_run_ended(context, "promoting")  # its own run is in progress: allowed

    instance = dg.DagsterInstance.ephemeral()
    ended = dg.materialize([guarded], instance=instance)
    assert ended.success
    with pytest.raises(dg.Failure, match="already ended"):
        context = SimpleNamespace(instance=instance, run=SimpleNamespace(run_id=ended.run_id))
        refuse_if_run_ended(context, "promoting")
