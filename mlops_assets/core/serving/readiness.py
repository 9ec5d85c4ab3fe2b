"""Start the service locally and wait for it to report ready, failing fast if it died."""

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil


def kill_tree(process: subprocess.Popen) -> None:
    """Kill a server and every process under it: `bentoml serve` supervises worker processes
    that hold the port, and killing the supervisor alone leaves them running."""
    try:
        family = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    process.kill()
    for child in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    process.wait(timeout=30)
    psutil.wait_procs(family, timeout=10)


def wait_until_ready(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    """Poll ``url`` until it answers 200; raise if the process exits or time runs out (then
    the process is killed, so that it does not keep holding its port)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:500]}"
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode} before {url}")
        if time.monotonic() > deadline:  # never leave it running, holding its port
            kill_tree(process)
            raise TimeoutError(f"{url} not ready after {timeout:.0f} s; last answer: {last}")
        time.sleep(0.5)


def start_bentoml_serve(
    working_dir: Path, port: int, env: dict | None = None, log: Path | None = None
) -> subprocess.Popen:
    """`bentoml serve` of the repo's service on 127.0.0.1 (the venv's bentoml, not PATH's)."""
    out = log.open("ab") if log else subprocess.DEVNULL
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "bentoml"),
            "serve",
            "service:PredictionService",
            "--working-dir",
            str(working_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env={**os.environ, **(env or {})},
        stdout=out,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )
