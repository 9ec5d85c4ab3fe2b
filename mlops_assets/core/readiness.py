"""Start the service locally and wait for it to report ready, failing fast if it died."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx


def wait_until_ready(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    """Poll ``url`` until it answers 200; raise if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode} before {url}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} not ready after {timeout:.0f} s")
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
            "service:FlightDelay",
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
