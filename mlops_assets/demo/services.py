"""Start and stop the two servers the demo drives: `dagster dev` (webserver + daemon) and
`bentoml serve`. Each runs in its own process group and is stopped with everything under it."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from mlops_assets.demo.timeline import IN_FLIGHT
from mlops_assets.settings import PROJECT_ROOT


def start_dagster_dev(
    port: int, log: Path | None, env: dict, host: str = "127.0.0.1"
) -> subprocess.Popen:
    """`dagster dev` on 127.0.0.1 in its own process group (a terminal's Ctrl-C reaches only
    whoever started it, who stops it with ``stop_dagster``); its event stream goes to ``log``,
    or to this process's output."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "dev",
            "-w",
            str(PROJECT_ROOT / "workspace.yaml"),
            "--host",
            host,
            "--port",
            str(port),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        stdout=log.open("ab") if log else None,
        stderr=subprocess.STDOUT if log else None,
        start_new_session=True,
    )


def wait_for_dagster(instance, port: int, process: subprocess.Popen, timeout: float = 180):
    """Until the webserver answers and the daemon's sensor and automation loops heartbeat."""
    deadline = time.monotonic() + timeout
    started = time.time()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dagster dev exited with code {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=2).status_code == 200:
                beats = instance.get_daemon_heartbeats()
                fresh = {k for k, b in beats.items() if b.timestamp >= started}
                if {"SENSOR", "ASSET"} <= fresh:
                    return
        time.sleep(1)
    raise TimeoutError(f"dagster dev not ready after {timeout:.0f} s")


def cancel_runs_in_flight(instance) -> list[str]:
    """Ask the run launcher to cancel every run not finished yet: the run worker gets the
    termination request through its code server and the run ends CANCELED, not orphaned."""
    import dagster as dg

    cancelled = []
    for run in instance.get_runs(dg.RunsFilter(statuses=list(IN_FLIGHT))):
        with contextlib.suppress(Exception):  # a run whose worker is gone: run monitoring
            if run.status in (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED):
                instance.report_run_canceled(run, message="dagster dev stopped")
            else:
                instance.run_launcher.terminate(run.run_id)
            cancelled.append(run.run_id)
    return cancelled


def stop_dagster(process: subprocess.Popen, instance, grace: float = 25) -> float:
    """Stop `dagster dev` within ``grace`` seconds even with a run in flight. Its code server
    waits for the runs it launched before it exits, so runs in flight are cancelled first and
    given until half the grace to end; then the process group gets SIGTERM, and what is left
    at the end of the grace is killed. Cancelling goes through the code server, which may not
    answer in time: it gets a quarter of the grace in a thread of its own, and a run still in
    flight once its worker was stopped with the group is reported CANCELED, as the user asked.
    Seconds it took."""
    import dagster as dg

    started = time.monotonic()
    if process.poll() is None:
        cancelling = threading.Thread(target=cancel_runs_in_flight, args=(instance,), daemon=True)
        cancelling.start()
        cancelling.join(grace / 4)
        while time.monotonic() - started < grace / 2 and instance.get_runs(
            dg.RunsFilter(statuses=list(IN_FLIGHT))
        ):
            time.sleep(0.5)
    stop_group(process, grace=max(1.0, grace - (time.monotonic() - started)))
    for run in instance.get_runs(dg.RunsFilter(statuses=list(IN_FLIGHT))):
        with contextlib.suppress(Exception):
            instance.report_run_canceled(run, message="dagster dev stopped with the run in flight")
    return time.monotonic() - started


def stop_group(process: subprocess.Popen, grace: float = 30) -> float:
    """SIGTERM to the whole process group, SIGKILL after ``grace``; seconds it took."""
    started = time.monotonic()
    if process.poll() is None and grace > 0:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # anything left behind
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    return time.monotonic() - started
