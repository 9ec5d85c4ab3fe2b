"""The scale-out stack under faults, for real: PostgreSQL, Redis, moto's S3 server and two
Celery workers on 127.0.0.1 (`mlops-stack up`), the real Dagster daemon, and one server stopped
or one process killed at a time (`services.stop_service` / `start_service`). No mocks.

Why: moving the project onto the stack replaces one process and a folder with four servers,
and each can fail on its own. What a user needs from each failure:

- the daemon's state (sensor ticks, cursors, runs) lives in PostgreSQL, so a restarted daemon
  picks up where the last one stopped: a delivered month is loaded by exactly one run, and a
  run key requested again by a new daemon launches nothing (Dagster's own check);
- a server that is down makes a run fail within a bounded time, with an error that names the
  server it could not reach (broker, database, S3 endpoint and bucket), never a run that
  waits for ever;
- a failure never leaves half a model version in the registry, and the stack works again once
  the server is back (PostgreSQL keeps its runs, S3 its objects);
- a worker process killed mid-step (the OOM killer) fails its run at once;
- the local default (no stack variables) does not depend on any of these servers.

The steps that write to S3 and to the registry are a small probe job defined here
(``probe_defs``): the project's executor, io manager and registry resource, a model version of
as many files as asked, in a second and not the minutes of a training run. The daemon tests
run the project's own sensors and its `land_months` run.

Marked `stack` (`make test-stack`). Two stacks, one per class: the daemon tests leave a land
run in flight, the fault tests need idle workers. About six minutes on two cores.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import psutil
import pytest

from mlops_assets.executor import project_executor
from mlops_assets.resources.json_io_manager import JsonIOManager
from mlops_assets.resources.model_registry import ModelRegistryResource
from tests.contract import FIRST_MONTH
from tests.processes import ProcessTree, started, wait_for
from tests.stack_helpers import temporary_stack

pytestmark = pytest.mark.stack

# not tests.conftest: this module is imported again by the CLI runs and the Celery workers
# (the probe job), where conftest's set-up (its own data folder) must not happen
REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PROBE_MODEL = "stack_probe"
FAULT_TAG = "mlops/fault-test"
# the stack's part of the environment: without it, the local default
STACK_ONLY = (
    "MLOPS_EXECUTOR",
    "MLOPS_CELERY_BROKER",
    "MLOPS_CELERY_BACKEND",
    "MLOPS_S3_BUCKET",
    "AWS_ENDPOINT_URL_S3",
    "MLOPS_PG_PORT",
)
SENSORS = ("raw_delivery_sensor", "served_traffic_sensor", "model_health_sensor")


# --- the probe job: what a training step writes, in a second --------------------------------


class ProbeConfig(dg.Config):
    files: int = 1  # model files in the registered version (many: a slow write to kill)


@dg.asset
def stack_probe(config: ProbeConfig, model_registry: ModelRegistryResource) -> dict:
    """Registers a model version (claim, files, record: the registry's writes) and returns its
    reference as the step's output (the io manager's write)."""
    files = {f"part-{i:05d}.bin": str(i).encode() * 64 for i in range(config.files)}
    version = model_registry.registry().register(PROBE_MODEL, files, {"probe": True})
    return {"model": PROBE_MODEL, "version": version.version}


probe_job = dg.define_asset_job("stack_probe_job", [stack_probe])
ONCE = "stack-probe-once"


@dg.sensor(job=probe_job, default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=1)
def same_run_key_sensor():
    """Asks for the same run on every tick: only Dagster's run-key check (the runs' tags, in
    the stack's PostgreSQL) keeps it to one run."""
    return dg.RunRequest(run_key=ONCE, tags={FAULT_TAG: "run-key"})


# MLOPS_EXECUTOR and MLOPS_S3_BUCKET decide, as for the project's definitions: Celery and the
# bucket in a process with the stack's environment, in-process and folders without it
probe_defs = dg.Definitions(
    assets=[stack_probe],
    jobs=[probe_job],
    sensors=[same_run_key_sensor],
    resources={"model_registry": ModelRegistryResource(), "io_manager": JsonIOManager()},
    executor=project_executor(),
)


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="class")
def stack():
    with temporary_stack("mlops-stack-faults-") as up:
        yield up


@pytest.fixture(scope="class")
def instance(stack):
    """The stack's instance, as every process of the stack opens it (its dagster.yaml)."""
    previous = os.environ.get("MLOPS_PG_PORT")
    os.environ["MLOPS_PG_PORT"] = str(stack.postgres_port)  # read by the stack's dagster.yaml
    inst = dg.DagsterInstance.from_config(stack.env()["DAGSTER_HOME"])
    try:
        yield inst
    finally:
        inst.dispose()
        if previous is None:
            os.environ.pop("MLOPS_PG_PORT", None)
        else:
            os.environ["MLOPS_PG_PORT"] = previous


def stack_env(stack) -> dict[str, str]:
    return {**os.environ, **stack.env(), "PYTHONPATH": str(REPO)}


def tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else f"({path}: none)"


def probe_command(stack, tag: str, files: int = 1) -> list[str]:
    config = Path(stack.folder) / f"probe-{files}.yaml"
    config.write_text(json.dumps({"ops": {"stack_probe": {"config": {"files": files}}}}))
    return [
        *(str(BIN / "dagster"), "job", "execute", "-m", "tests.test_stack_faults"),
        *("-a", "probe_defs", "-j", "stack_probe_job", "-c", str(config)),
        *("--tags", json.dumps({FAULT_TAG: tag})),
    ]


def run_probe(stack, tag: str, env: dict | None = None, timeout: float = 300):
    """The probe job through `dagster job execute`, as a user runs a job; (result, seconds)."""
    start = time.monotonic()
    result = subprocess.run(
        probe_command(stack, tag),
        cwd=REPO,
        env=env or stack_env(stack),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return result, time.monotonic() - start


def the_run(instance, tag: str) -> dg.DagsterRun:
    [run] = instance.get_runs(dg.RunsFilter(tags={FAULT_TAG: tag}))
    return run


def event_types(instance, run_id: str) -> list[dg.DagsterEventType]:
    return [e.dagster_event.event_type for e in instance.all_logs(run_id) if e.dagster_event]


def errors(instance, run_id: str) -> str:
    """Every error in a run's events, with its causes, as one text: what the UI shows."""
    texts = []
    for entry in instance.all_logs(run_id):
        error = getattr(
            entry.dagster_event and entry.dagster_event.event_specific_data, "error", None
        )
        chain = [error]
        while chain:
            info = chain.pop()
            if info is not None:
                texts.append(f"{entry.dagster_event.event_type_value}: {info.message.strip()}")
                chain += [info.cause, info.context]
    return "\n".join(texts)


def registry(stack):
    """The stack's registry through the project's own S3 store (a client of the test's)."""
    from mlops_assets.core.blob_store import REGISTRY_PREFIX, S3BlobStore
    from mlops_assets.core.registry.registry import ModelRegistry
    from mlops_assets.stack.services import s3_client

    env = stack.env()
    client = s3_client(env)
    return ModelRegistry(S3BlobStore(client, env["MLOPS_S3_BUCKET"], REGISTRY_PREFIX))


def whole_versions(reg) -> list[int]:
    """The listed versions of the probe model, every file read back against its checksum."""
    versions = reg.versions(PROBE_MODEL)
    for version in versions:
        reg.verify(version)  # raises CorruptModelError
    return [v.version for v in versions]


def probe_keys(reg) -> list[str]:
    return reg.store.list(f"models/{PROBE_MODEL}/")


def workers_answer(stack, timeout: float = 90) -> None:
    """Both Celery workers answer a ping through the broker."""
    from celery import Celery

    env = stack.env()
    app = Celery(broker=env["MLOPS_CELERY_BROKER"], backend=env["MLOPS_CELERY_BACKEND"])
    try:
        wait_for(
            "both Celery workers to answer through the broker",
            lambda: len(app.control.ping(timeout=1)) == stack.workers,
            timeout=timeout,
            every=1,
        )
    finally:
        app.close()


def sensor_state(instance, name: str):
    from dagster._core.scheduler.instigation import InstigatorType

    states = instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
    return next((s for s in states if s.name == name), None)


def ticks(instance, name: str, after: float = 0.0) -> list:
    """The sensor's finished ticks that started after ``after``, newest first."""
    from dagster._core.scheduler.instigation import TickStatus

    state = sensor_state(instance, name)
    if state is None:
        return []
    found = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=500)
    return [t for t in found if t.timestamp > after and t.status != TickStatus.STARTED]


def sql(stack, query: str, *args) -> list[tuple]:
    """A query to the stack's PostgreSQL itself, not through Dagster."""
    import psycopg2

    connection = psycopg2.connect(
        host="127.0.0.1", port=stack.postgres_port, user="postgres", dbname="dagster"
    )
    with contextlib.closing(connection), connection.cursor() as cursor:
        cursor.execute(query, args)
        return cursor.fetchall()


@contextmanager
def daemon(stack, log: Path) -> Iterator[ProcessTree]:
    """`dagster-daemon run` on the project's workspace with the stack's environment."""
    command = [str(BIN / "dagster-daemon"), "run", "-w", str(REPO / "workspace.yaml")]
    with started(command, log, cwd=REPO, env=stack_env(stack)) as tree:
        yield tree


def ticked(tree: ProcessTree, instance, name: str, count: int = 1, after: float = 0.0):
    """Wait for ``count`` finished ticks of a sensor (remembering the daemon's processes)."""

    def enough():
        tree.descendants()  # the code server and run workers, to stop them all afterwards
        found = ticks(instance, name, after)
        return found if len(found) >= count else None

    return wait_for(f"{count} tick(s) of {name}", enough, timeout=300, every=1)


# --- the daemon on the stack ------------------------------------------------------------------


@pytest.fixture(scope="class")
def first_daemon(stack):
    with daemon(stack, Path(stack.folder) / "daemon-1.log") as tree:
        yield tree


class TestTheDaemonOnTheStack:
    def test_sensor_ticks_and_cursors_are_stored_in_postgres(self, stack, instance, first_daemon):
        from dagster._core.scheduler.instigation import TickStatus
        from dagster_postgres import PostgresScheduleStorage

        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        log = Path(stack.folder) / "daemon-1.log"
        for name in SENSORS:
            ticked(first_daemon, instance, name)
        [latest, *_] = ticks(instance, "raw_delivery_sensor")
        assert latest.status == TickStatus.SKIPPED, tail(log)
        assert latest.skip_reason.startswith("nothing delivered to"), latest.skip_reason
        # the ticks the instance lists are rows of the stack's PostgreSQL
        for name in SENSORS:
            state = sensor_state(instance, name)
            rows = sql(stack, "SELECT id FROM job_ticks WHERE selector_id = %s", state.selector_id)
            assert {t.tick_id for t in ticks(instance, name)} <= {row[0] for row in rows}, name

        # A cursor set from outside (as `dagster sensor cursor --set` does) is read by the next
        # evaluation in the daemon's code server and written back: it went through PostgreSQL.
        # (A tick that had already read the old cursor may overwrite it once: set it again.)
        marker = {"2099-12": {"rows": 7, "at": 1.5}}
        for _ in range(3):
            state = sensor_state(instance, "served_traffic_sensor")
            cursor = json.dumps(marker)
            instance.update_instigator_state(
                state.with_data(state.instigator_data._replace(cursor=cursor))
            )
            set_at = time.time()
            [newest, *_] = ticked(first_daemon, instance, "served_traffic_sensor", 2, set_at)
            if newest.cursor and json.loads(newest.cursor) == marker:
                break
        assert newest.cursor and json.loads(newest.cursor) == marker, (newest, tail(log))
        stored = sensor_state(instance, "served_traffic_sensor").instigator_data.cursor
        assert json.loads(stored) == marker
        [[body]] = sql(
            stack,
            "SELECT job_body FROM jobs WHERE selector_id = %s",
            sensor_state(instance, "served_traffic_sensor").selector_id,
        )
        assert "2099-12" in body

    def test_a_delivery_is_launched_once_across_a_daemon_restart(
        self, stack, instance, first_daemon
    ):
        from dagster._core.scheduler.instigation import TickStatus

        from mlops_assets.demo.world import deliver_month
        from mlops_assets.resources.raw_files import RawFilesResource
        from mlops_assets.sensors.delivery import TABLES, delivered_files

        data = Path(stack.data_dir)
        raw_files = RawFilesResource(
            landing_dir=str(data / "landing"), cache_dir=str(data / "raw_cache")
        )
        deliver_month(raw_files, FIRST_MONTH)
        fingerprints = delivered_files(data / "landing")[FIRST_MONTH]
        joined = "+".join(fingerprints[t] for t in TABLES)
        run_key = f"land:{FIRST_MONTH}={joined}:after:first"
        waiting = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED)

        def launched():
            first_daemon.descendants()
            runs = instance.get_runs(dg.RunsFilter(job_name="land_months"))
            return [r for r in runs if r.status not in waiting]

        log = Path(stack.folder) / "daemon-1.log"
        [run] = wait_for("the land run to be launched", launched, timeout=300, every=1)
        assert run.tags.get("dagster/run_key") == run_key, (run.tags, tail(log))
        assert run.tags.get("dagster/sensor_name") == "raw_delivery_sensor"

        # A graceful restart, as a deploy does: the daemon stops (the run it launched goes on in
        # its code server), a new daemon with a new code server evaluates the sensor again.
        first_daemon.descendants()
        first_daemon.root.send_signal(signal.SIGTERM)
        first_daemon.popen.wait(timeout=120)
        restarted = time.time()
        log = Path(stack.folder) / "daemon-2.log"
        with daemon(stack, log) as second_daemon:
            after = ticked(second_daemon, instance, "raw_delivery_sensor", 2, restarted)

        # It saw the delivery and the run in PostgreSQL, and launched nothing: one run for it.
        runs = instance.get_runs(dg.RunsFilter(job_name="land_months"))
        assert [r.run_id for r in runs] == [run.run_id], tail(log)
        assert len(instance.get_runs(dg.RunsFilter(tags={"dagster/run_key": run_key}))) == 1
        assert all(t.status == TickStatus.SKIPPED and not t.run_ids for t in after), after
        assert instance.get_run_by_id(run.run_id).status not in waiting


# --- one server down, one process killed ------------------------------------------------------


class TestFaultsOfTheStack:
    def test_a_run_key_launches_one_run_across_a_daemon_restart(self, stack, instance):
        """Dagster's own run-key check across a restart: a sensor that requests the same run
        key on every tick, a daemon stopped and a new one started; one run in all."""
        from dagster._core.scheduler.instigation import TickStatus

        command = [str(BIN / "dagster-daemon"), "run", "-m", "tests.test_stack_faults"]
        command += ["-a", "probe_defs"]
        name, logs = "same_run_key_sensor", [Path(stack.folder) / f"key-{i}.log" for i in (1, 2)]
        with started(command, logs[0], cwd=REPO, env=stack_env(stack)) as first:
            launched = ticked(first, instance, name, 3)
            assert any(t.run_ids for t in launched), tail(logs[0])
            wait_for(  # the run ends before its daemon (and code server) stops
                "the run to end",
                lambda: all(
                    r.is_finished
                    for r in instance.get_runs(dg.RunsFilter(tags={"dagster/run_key": ONCE}))
                ),
                timeout=180,
            )
        restarted = time.time()
        with started(command, logs[1], cwd=REPO, env=stack_env(stack)) as second:
            after = ticked(second, instance, name, 3, restarted)
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/run_key": ONCE}))
        assert len(runs) == 1, [r.run_id for r in runs]
        assert all(t.status == TickStatus.SKIPPED and not t.run_ids for t in after), tail(logs[1])

    def test_s3_down_fails_the_step_naming_the_endpoint_and_leaves_no_half_version(
        self, stack, instance
    ):
        from mlops_assets.stack import services

        folder, env = Path(stack.folder), stack.env()
        reg = registry(stack)
        ok, _ = run_probe(stack, "s3-before")
        assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-3000:]
        before = (whole_versions(reg), probe_keys(reg))
        assert before[0], "the probe registered a version"

        services.stop_service(folder, "s3")
        try:
            failed, _ = run_probe(stack, "s3-down", timeout=240)
        finally:
            services.start_service(folder, "s3")
        run = the_run(instance, "s3-down")
        assert failed.returncode != 0 and run.status == dg.DagsterRunStatus.FAILURE
        assert dg.DagsterEventType.STEP_FAILURE in event_types(instance, run.run_id)
        said = errors(instance, run.run_id)
        endpoint = f"{env['AWS_ENDPOINT_URL_S3']}/{env['MLOPS_S3_BUCKET']}"
        assert f'Could not connect to the endpoint URL: "{endpoint}' in said, said[-3000:]

        # S3 back (moto with its recording, as a real bucket keeps its objects): the registry
        # holds what it held, not a key more; then the same job succeeds.
        assert (whole_versions(reg), probe_keys(reg)) == before
        again, _ = run_probe(stack, "s3-back")
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        assert whole_versions(reg) == [*before[0], before[0][-1] + 1]

    def test_postgres_down_is_a_clear_error_and_nothing_is_written(self, stack, instance):
        from mlops_assets.stack import services

        folder = Path(stack.folder)
        reg = registry(stack)
        keys = probe_keys(reg)
        runs = [r.run_id for r in instance.get_runs()]
        assert runs, "the S3 test's runs come first"

        services.stop_service(folder, "postgres")
        try:
            failed, _ = run_probe(stack, "postgres-down", timeout=240)
        finally:
            services.start_service(folder, "postgres")
        said = failed.stdout + failed.stderr
        assert failed.returncode != 0
        refused = f'connection to server at "127.0.0.1", port {stack.postgres_port} failed: '
        assert refused + "Connection refused" in said, said[-3000:]
        assert "too many retries for DB connection" in said
        assert "RUN_START" not in said  # nothing ran, so nothing was written
        assert probe_keys(reg) == keys
        # the database is back with every run it had, and the stack runs again
        assert [r.run_id for r in instance.get_runs()] == runs
        again, _ = run_probe(stack, "postgres-back")
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]

    def test_broker_down_fails_the_run_naming_the_connection_local_default_unaffected(
        self, stack, instance, tmp_path
    ):
        from mlops_assets.stack import services

        folder = Path(stack.folder)
        reg = registry(stack)
        keys = probe_keys(reg)
        services.stop_service(folder, "redis")
        try:
            failed, _ = run_probe(stack, "broker-down", timeout=240)
            local = local_default_probe(stack, tmp_path)
        finally:
            services.start_service(folder, "redis")
        run = the_run(instance, "broker-down")
        assert failed.returncode != 0 and run.status == dg.DagsterRunStatus.FAILURE
        said = errors(instance, run.run_id)
        assert f"127.0.0.1:{stack.redis_port}. Connection refused" in said, said[-3000:]
        assert dg.DagsterEventType.STEP_START not in event_types(instance, run.run_id)
        assert probe_keys(reg) == keys

        # the local default ran meanwhile: no broker, no bucket, no database server
        assert local["returncode"] == 0, local["output"]
        assert local["versions"] == [1]
        assert local["step_pids"] == local["run_pids"], "in-process: the steps in the run's process"

        workers_answer(stack)  # the workers reconnect to the restarted broker
        again, _ = run_probe(stack, "broker-back")
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]

    def test_a_worker_killed_mid_step_fails_the_run_at_once_and_the_registry_stays_whole(
        self, stack, instance
    ):
        from mlops_assets.stack import services

        folder = Path(stack.folder)
        reg = registry(stack)
        versions = whole_versions(reg)
        claimed = f"models/{PROBE_MODEL}/versions/{max(versions) + 1}/"
        _, pids = services.load(folder)
        workers = {pid for name, pid in pids.items() if name.startswith("worker")}

        log = folder / "probe-killed.log"
        command = probe_command(stack, "killed", files=1000)
        with started(command, log, cwd=REPO, env=stack_env(stack)) as cli:

            def step_started():
                found = [r for r in instance.get_runs(dg.RunsFilter(tags={FAULT_TAG: "killed"}))]
                if not found:
                    return None
                starts = instance.all_logs(found[0].run_id, of_type=dg.DagsterEventType.STEP_START)
                return starts[0].dagster_event.pid if starts else None

            step_pid = wait_for("the probe step to start", step_started, timeout=180)
            # the step runs in a worker's child process, which its main process supervises
            assert psutil.Process(step_pid).ppid() in workers
            keys = wait_for(
                "the new version's claim and some of its files",
                lambda: (lambda k: k if len(k) > 20 else None)(reg.store.list(claimed)),
                timeout=120,
                every=0.1,
            )
            assert not any(k.endswith("/version.json") for k in keys), "too late to kill"
            os.kill(step_pid, signal.SIGKILL)  # as the OOM killer does
            cli.popen.wait(timeout=120)  # the run ends, it does not wait for ever

        run = the_run(instance, "killed")
        assert run.status == dg.DagsterRunStatus.FAILURE, tail(log)
        said = errors(instance, run.run_id)
        assert "WorkerLostError" in said and "signal 9 (SIGKILL)" in said, said[-3000:]

        # The half-written version (its claim and some files) is not a version; the next
        # registration takes the number after it; every listed version is whole.
        assert whole_versions(reg) == versions
        assert any(k.endswith("/claim.json") for k in reg.store.list(claimed))
        new = reg.register(PROBE_MODEL, {"model.txt": b"after the kill"}, {})
        assert new.version == max(versions) + 2
        assert whole_versions(reg) == [*versions, new.version]

        # the worker's main process lived on, with a fresh child for the next step
        assert all(psutil.pid_exists(pid) for pid in workers)
        workers_answer(stack)
        again, _ = run_probe(stack, "after-kill")
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]


def local_default_probe(stack, tmp_path: Path) -> dict:
    """The probe job with the local default (no stack variable; SQLite instance, in-process
    steps, folders) in a data folder of its own; what came of it."""
    data, home = tmp_path / "local-data", tmp_path / "local-home"
    home.mkdir(parents=True)
    shutil.copy(REPO / "config" / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in stack_env(stack).items() if k not in STACK_ONLY}
    env |= {
        "MLOPS_DATA_DIR": str(data),
        "DAGSTER_HOME": str(home),
        "DUCKDB_DATABASE": str(data / "warehouse.duckdb"),
    }
    result, _ = run_probe(stack, "local-default", env=env, timeout=240)
    from mlops_assets.core.blob_store import LocalBlobStore
    from mlops_assets.core.registry.registry import ModelRegistry

    versions = [
        v.version for v in ModelRegistry(LocalBlobStore(data / "registry")).versions(PROBE_MODEL)
    ]
    with dg.DagsterInstance.from_config(str(home)) as local:
        [run] = local.get_runs()
        entries = [e for e in local.all_logs(run.run_id) if e.dagster_event]
        pids = {
            kind: {e.dagster_event.pid for e in entries if e.dagster_event.event_type == kind}
            for kind in (dg.DagsterEventType.RUN_START, dg.DagsterEventType.STEP_START)
        }
    return {
        "returncode": result.returncode,
        "output": result.stdout[-3000:] + result.stderr[-3000:],
        "versions": versions,
        "run_pids": pids[dg.DagsterEventType.RUN_START],
        "step_pids": pids[dg.DagsterEventType.STEP_START],
    }
