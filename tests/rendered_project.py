"""One project rendered from the template per test session, set up early in the background.

Setting up a fresh virtual environment for the rendered project takes minutes of mostly
waiting on pip; starting it right after collection overlaps that with the rest of the suite
instead of adding it at the end (`conftest.pytest_collection_finish`).
"""

import os
import subprocess
from pathlib import Path

from tests.conftest import BIN, REPO, SESSION_DIR

ANSWERS = {"project_name": "Gate Watch", "include_pytorch": "no"}
SLUG, PACKAGE = "gate-watch", "gate_watch"
OUTPUT = SESSION_DIR / "render"
SETUP_LOG = SESSION_DIR / "render-setup.log"


def render(output: Path, *extra: str) -> subprocess.CompletedProcess:
    """cookiecutter's CLI on this repository, without prompts."""
    return subprocess.run(
        [str(BIN / "cookiecutter"), str(REPO), "--no-input", "-o", str(output), *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )


def outside_env() -> dict[str, str]:
    """This session's environment minus everything that points at this checkout or its venv."""
    venv = str(REPO / ".venv")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MLOPS_", "MAKE", "MFLAGS", "VIRTUAL_ENV", "PYTHON"))
        and key not in ("DAGSTER_HOME", "DUCKDB_DATABASE")
    }
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if not p.startswith((venv, str(BIN)))
    )
    return env


def project() -> Path:
    """The rendered project (rendered on first use)."""
    root = OUTPUT / SLUG
    if not root.exists():
        result = render(OUTPUT, *(f"{key}={value}" for key, value in ANSWERS.items()))
        assert result.returncode == 0, result.stderr[-3000:]
    return root


class BackgroundSetup:
    """A rendered project's `make setup` (a fresh venv), started early in the background."""

    started: list["BackgroundSetup"] = []  # noqa: RUF012 - every set-up the session started

    def __init__(self, project, log: Path):
        self.project, self.log = project, log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if self.process is None:
            root = self.project()
            log = open(self.log, "w")  # noqa: SIM115 - the child process owns it until it exits
            self.process = subprocess.Popen(
                ["make", "setup"], cwd=root, env=outside_env(), stdout=log, stderr=subprocess.STDOUT
            )
            BackgroundSetup.started.append(self)

    def wait(self, timeout: float = 1200) -> tuple[int, str]:
        """Exit code and log of the set-up (started now if it was not)."""
        self.start()
        code = self.process.wait(timeout=timeout)
        return code, self.log.read_text()[-4000:]

    @classmethod
    def stop_all(cls) -> None:
        """Terminate every set-up still running (the session is over)."""
        for setup in cls.started:
            if setup.process.poll() is None:
                setup.process.terminate()
                setup.process.wait(timeout=30)


RENDERED = BackgroundSetup(project, SETUP_LOG)


def wait_for_setup(timeout: float = 1200) -> tuple[int, str]:
    """Exit code and log of the background set-up (started now if it was not)."""
    return RENDERED.wait(timeout)
