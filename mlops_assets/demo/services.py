"""Start and stop the two servers the demo drives: `dagster dev` (webserver + daemon) and
`bentoml serve`. Each runs in its own process group and is stopped with everything under it."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from mlops_assets.settings import PROJECT_ROOT


def start_dagster_dev(port: int, log: Path, env: dict) -> subprocess.Popen:
    """`dagster dev` on 127.0.0.1, headless; its event stream goes to ``log``."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "dev",
            "-w",
            str(PROJECT_ROOT / "workspace.yaml"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
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


def stop_group(process: subprocess.Popen, grace: float = 30) -> float:
    """SIGTERM to the whole process group, SIGKILL after ``grace``; seconds it took."""
    started = time.monotonic()
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # anything the leader left behind
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    return time.monotonic() - started
