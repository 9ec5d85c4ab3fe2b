"""The scale-out stack's servers on 127.0.0.1, each a real process of its own package:
PostgreSQL (Debian) for Dagster's storage, Redis (Debian) as Celery's broker and result
backend, moto's S3 server (PyPI) as the object store, and Celery workers (dagster-celery)
that execute the steps. Everything lives under one folder; ``stop_all`` ends it all, and
``stop_service`` / ``start_service`` stop and start one server (a restart, or a fault drill:
tests/test_stack_faults.py).

moto is a mock of S3 that runs as a server: the project's S3 code is AWS's own boto3 client
pointed at an endpoint URL, so the same code reaches AWS S3 (or MinIO) with no change.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

# Debian's and Ubuntu's PostgreSQL server programs (not on PATH); the newest version installed
PG_BIN = max(
    Path("/usr/lib/postgresql").glob("*/bin"),
    default=Path("/usr/lib/postgresql/15/bin"),
    key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
)
BIN = Path(sys.executable).parent
BUCKET = "mlops-assets"
STATE_FILE = "stack.json"
RECORDING = "s3.recording"


@dataclass
class Stack:
    """Where each server listens, and the environment every process of the stack shares."""

    folder: str
    data_dir: str
    postgres_port: int
    redis_port: int
    s3_port: int
    workers: int

    def env(self) -> dict[str, str]:
        """The configuration that moves the project onto the stack (no code changes):
        Dagster's storage, the executor, every artifact store, and the data folder and
        warehouse, which the Celery workers (they execute the steps, in their own environment)
        and whoever launches the runs must agree on."""
        return {
            "DAGSTER_HOME": str(Path(self.folder) / "dagster_home"),
            "MLOPS_DATA_DIR": self.data_dir,
            "DUCKDB_DATABASE": str(Path(self.data_dir) / "warehouse.duckdb"),
            "MLOPS_PG_PORT": str(self.postgres_port),
            "MLOPS_EXECUTOR": "celery",
            "MLOPS_CELERY_BROKER": f"redis://127.0.0.1:{self.redis_port}/0",
            "MLOPS_CELERY_BACKEND": f"redis://127.0.0.1:{self.redis_port}/1",
            "MLOPS_S3_BUCKET": BUCKET,
            # boto3's own settings: the S3 client code is AWS's, only the endpoint differs
            "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{self.s3_port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise TimeoutError(f"{name} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def missing_programs() -> list[str]:
    """The Debian packages the stack needs and this machine lacks (``make stack`` installs)."""
    missing = []
    if not (PG_BIN / "initdb").exists():
        missing.append("postgresql")
    if not shutil.which("redis-server"):
        missing.append("redis-server")
    return missing


def _as_postgres(*command: str, **kwargs) -> subprocess.CompletedProcess:
    """PostgreSQL refuses to run as root: its commands run as the Debian package's user.
    A failure names the command and what PostgreSQL said."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    result = subprocess.run([*prefix, *command], capture_output=True, **kwargs)
    if result.returncode != 0:
        said = result.stderr if isinstance(result.stderr, str) else result.stderr.decode()
        raise RuntimeError(
            f"{Path(command[0]).name} failed (exit {result.returncode}): {said.strip()[-1500:]}"
            " (the stack's folder must be reachable by the `postgres` user: not under a "
            "mode-700 folder such as /root)"
        )
    return result


def start_postgres(folder: Path, port: int) -> None:
    """A private cluster in ``folder`` (trust auth, loopback only) with a ``dagster`` database."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    if not data.exists():
        _as_postgres(
            str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
    options = f"-h 127.0.0.1 -p {port} -k {folder}"
    _as_postgres(
        str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(folder / "postgres.log"), "-w",
        "-t", "30", "-o", options, "start",
    )  # fmt: skip
    exists = _as_postgres(
        str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-Atc",
        "SELECT 1 FROM pg_database WHERE datname = 'dagster'", text=True,
    ).stdout.strip()  # fmt: skip
    if not exists:
        _as_postgres(
            str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
            "-c", "CREATE DATABASE dagster",
        )  # fmt: skip


def stop_postgres(folder: Path) -> None:
    if (folder / "data" / "postmaster.pid").exists():
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(folder / "data"), "-m", "fast", "stop")


def _spawn(command: list[str], log: Path, env: dict | None = None) -> int:
    """A server in its own process group, output to ``log``; its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        command,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    return process.pid


def start_redis(folder: Path, port: int) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    command = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder)]
    command += ["--save", "", "--appendonly", "no"]  # a broker's queue, not a database
    pid = _spawn(command, folder / "redis.log")
    wait_for_port(port, "redis-server")
    return pid


def start_s3(folder: Path, port: int, env: dict[str, str]) -> int:
    """moto's S3 server, and the bucket every store of the project shares.

    moto keeps its objects in memory, where a real bucket outlives any outage. So that a
    restarted server holds what the stopped one held, moto's own recorder appends every request
    it serves to ``s3.recording``; a start that finds a recording replays it (the requests in
    their order, conditional writes included) instead of creating the bucket. The recording
    grows with every request served (about 1 kB a read, a write's size plus that); a restart
    keeps only the writes.
    """
    recording = folder / RECORDING
    replay = recording.exists() and _compact(recording) > 0
    pid = _spawn(
        [sys.executable, "-m", "mlops_assets.stack.s3_server", "-H", "127.0.0.1", "-p", str(port)],
        folder / "s3.log",
        env={"MOTO_ENABLE_RECORDING": "true", "MOTO_RECORDER_FILEPATH": str(recording)},
    )
    try:  # a start that fails stops its server: nothing is left holding the port
        wait_for_port(port, "the S3 server (moto)")
        if replay:
            import urllib.request

            url = f"{env['AWS_ENDPOINT_URL_S3']}/moto-api/recorder/replay-recording"
            with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=300):
                pass
        else:
            s3_client(env).create_bucket(Bucket=BUCKET)
    except BaseException:
        _stop_group(pid, grace=5)
        raise
    return pid


def s3_client(env: dict[str, str]):
    """A boto3 S3 client of the stack's server, from the stack's environment (``Stack.env``)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL_S3"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )


def _compact(recording: Path) -> int:
    """Keep only the recorded requests that change what the bucket holds (reads change
    nothing, and replaying them is most of a replay's time); how many are left. moto writes a
    request and its newline separately, so racing requests can share a line: every JSON
    object on a line is read. Only a torn end (a killed server) is dropped, and said."""
    decoder, kept = json.JSONDecoder(), []
    text = recording.read_text()
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        try:
            request, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            print(f"{recording}: an unreadable end ({len(text) - position} bytes) dropped")
            break
        if request.get("method") not in ("GET", "HEAD"):
            kept.append(json.dumps(request) + "\n")
    partial = recording.with_name(f".{recording.name}.partial")
    partial.write_text("".join(kept))
    os.replace(partial, recording)
    return len(kept)


def celery_config(folder: Path, env: dict[str, str]) -> Path:
    """The Celery app settings the workers import (dagster-celery's ``dagster_celery_config``
    module: broker, result backend); the folder to put on PYTHONPATH."""
    config = folder / "celery"
    config.mkdir(parents=True, exist_ok=True)
    (config / "dagster_celery_config.py").write_text(
        f"broker_url = {env['MLOPS_CELERY_BROKER']!r}\n"
        f"result_backend = {env['MLOPS_CELERY_BACKEND']!r}\n"
    )
    return config


def start_worker(folder: Path, name: str, env: dict[str, str], project_root: Path) -> int:
    """One Celery worker of dagster-celery's app, one step at a time: its main process takes
    the tasks and hands each to its one child process, which executes the step.

    The child (Celery's prefork pool of one) is what makes a killed step end: when the process
    executing a step dies (the OOM killer, SIGKILL), the main process marks its task failed
    (``WorkerLostError: Worker exited prematurely: signal 9``), the run fails at once and a
    fresh child takes the next task. In a single-process worker (``--pool solo``) the task dies
    with the worker unreported, and its run waits for ever. Tasks are acknowledged on receipt
    (Celery's default), so a lost step is failed, never run a second time by another worker.
    """
    config = celery_config(folder, env)
    python_path = os.pathsep.join(
        p for p in (str(config), str(project_root), os.environ.get("PYTHONPATH", "")) if p
    )
    command = [str(BIN / "celery"), "-A", "dagster_celery.app", "worker", "-Q", "dagster"]
    command += ["-n", f"{name}@%h", "--pool", "prefork", "--concurrency", "1"]
    command += ["--prefetch-multiplier", "1", "-l", "INFO"]
    return _spawn(command, folder / f"{name}.log", env={**env, "PYTHONPATH": python_path})


def save(stack: Stack, pids: dict[str, int]) -> None:
    path = Path(stack.folder) / STATE_FILE
    path.write_text(json.dumps({"stack": asdict(stack), "pids": pids}, indent=1))


def load(folder: Path) -> tuple[Stack, dict[str, int]] | None:
    path = folder / STATE_FILE
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    return Stack(**state["stack"]), state["pids"]


def stop_service(folder: Path, name: str, grace: float = 10) -> None:
    """Stop one server of the stack that is up in ``folder``: ``postgres``, ``redis``, ``s3`` or
    a worker (``worker1``, ...). It leaves the stack's state without it; ``start_service``
    starts it again on the same port."""
    state = load(folder)
    if not state:
        raise RuntimeError(f"no stack is up in {folder}")
    stack, pids = state
    if name == "postgres":
        stop_postgres(folder / "postgres")
        return
    if name not in pids:
        raise ValueError(f"{name!r} is not running in {folder} (running: {', '.join(pids)})")
    pid = pids.pop(name)
    _stop_group(pid, grace)
    save(stack, pids)


def start_service(folder: Path, name: str) -> None:
    """Start one stopped server again, on its port and with its data: PostgreSQL's cluster is
    on disk, S3's objects come back from moto's recording, a worker rejoins the queue. Redis
    starts empty: it is the broker, and held only the queue of steps in flight (a run that
    cannot reach it fails, naming it: tests/test_stack_faults.py)."""
    from mlops_assets.settings import PROJECT_ROOT

    state = load(folder)
    if not state:
        raise RuntimeError(f"no stack is up in {folder}")
    stack, pids = state
    if name == "postgres":
        start_postgres(folder / "postgres", stack.postgres_port)
        return
    if name in pids and _alive(pids[name]):
        raise ValueError(f"{name!r} is already running in {folder}")
    if name == "redis":
        pids[name] = start_redis(folder / "redis", stack.redis_port)
    elif name == "s3":
        pids[name] = start_s3(folder, stack.s3_port, stack.env())
    elif name.startswith("worker"):
        pids[name] = start_worker(folder, name, stack.env(), PROJECT_ROOT)
    else:
        raise ValueError(f"unknown service {name!r}: postgres, redis, s3 or worker<N>")
    save(stack, pids)


def _stop_group(pid: int, grace: float) -> None:
    """SIGTERM a server's process group, SIGKILL it after ``grace`` seconds."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    while _alive(pid) and time.monotonic() < deadline + 5:
        time.sleep(0.05)


def stop_all(folder: Path, grace: float = 10) -> None:
    """Every process the stack started (each in its own group), then PostgreSQL; then the
    folder goes (moto keeps nothing either: each `up` is a fresh world)."""
    state = load(folder)
    if state:
        _, pids = state
        for pid in pids.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for pid in pids.values():
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.1)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        (folder / STATE_FILE).unlink()
    stop_postgres(folder / "postgres")
    shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return True
