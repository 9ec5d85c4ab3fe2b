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
from contextlib import contextmanager
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
from tests.contract import FIRST_MONTH, LAST_MONTH, TEST_MONTH, partition  # noqa: E402

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
    "dagster/asset_partition_range_start": partition(FIRST_MONTH),
    "dagster/asset_partition_range_end": partition(LAST_MONTH),
}


@pytest.fixture(scope="session")
def built_warehouse() -> Path:
    """The feature store built as `make features` builds it: the `build_features` job over every
    month in one run, a persistent instance with the project's dagster.yaml, the dataset's real
    raw files."""
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
    """A production model (small training budget), an online store, and the test month scored
    in batch: everything the service and batch-scoring tests read."""
    from mlops_assets.assets.serving import batch_predictions, online_store
    from tests.model_lab import SMALL, Lab

    lab = Lab(tmp_path_factory.mktemp("serving"), built_warehouse)
    assert lab.run(SMALL).success
    assert lab.run({}, selection=[online_store]).success
    assert lab.run({}, selection=[batch_predictions], partition_key=partition(TEST_MONTH)).success
    return lab


@pytest.fixture(scope="module")
def monitored(served, tmp_path_factory):
    """The monitoring assets run as Dagster materializes them, on the `served` lab, with one
    profile store per test module: a reference profile made by one test is read by the next."""
    import dagster as dg

    from mlops_assets.assets.feedback import live_quality
    from mlops_assets.assets.monitoring import arrival_drift, reference_profile, serving_drift
    from mlops_assets.resources.monitoring_policy import MonitoringPolicy
    from mlops_assets.resources.profile_store import ProfileStoreResource
    from tests.model_lab import ASSETS

    assets = [*ASSETS, reference_profile, serving_drift, arrival_drift, live_quality]
    resources = {
        **served.resources,
        "profiles": ProfileStoreResource(local_root=str(tmp_path_factory.mktemp("profiles"))),
        "monitoring_policy": MonitoringPolicy(),
    }

    def run(asset, partition=None):
        result = dg.materialize(
            assets,
            selection=[asset],
            partition_key=partition,
            resources=resources,
            instance=served.instance,
            raise_on_error=False,
        )
        (materialization,) = result.asset_materializations_for_node(asset.op.name)
        checks = result.get_asset_check_evaluations()
        metadata = {k: v.value for k, v in materialization.metadata.items()}
        return result, metadata, checks

    run.profiles = resources["profiles"]
    return run


@contextmanager
def serving(data_dir: Path):
    """`bentoml serve` of the project's service on 127.0.0.1 over ``data_dir`` (its registry,
    online store, and where it writes profiles and the prediction log); an HTTP client."""
    import httpx

    from mlops_assets.core.serving.readiness import kill_tree, start_bentoml_serve, wait_until_ready

    port = free_port()
    env = {
        **os.environ,
        "MLOPS_DATA_DIR": str(data_dir),
        "MLOPS_RELOAD_SECONDS": "0.5",
        "BENTOML_DO_NOT_TRACK": "true",
    }
    log = data_dir.parent / "bentoml.log"
    log.unlink(missing_ok=True)
    process = start_bentoml_serve(REPO / "bento", port, env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{url}/readyz", process)
    except (RuntimeError, TimeoutError):
        kill_tree(process)
        raise AssertionError(log.read_text()[-3000:]) from None
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def service(served):
    """The service as `bentoml serve` runs it on 127.0.0.1, over the `served` lab's data (one
    server per test module)."""
    with serving(served.root / "data") as client:
        yield client


def pytest_collection_finish(session) -> None:
    """Start the rendered projects' set-ups early when their tests are selected: a fresh venv is
    minutes of waiting on pip, overlapped with the rest of the suite."""
    selected = [item.nodeid for item in session.items]
    if any(nodeid.startswith("tests/test_template.py::test_the_rendered") for nodeid in selected):
        from tests.rendered_project import RENDERED

        RENDERED.start()
    # >>> template
    if any(nodeid.startswith("tests/test_seattle_fork.py") for nodeid in selected):
        from tests.seattle_fork import FORK_SETUP

        FORK_SETUP.start()
    # <<< template


def pytest_sessionfinish(session) -> None:
    """Never leave a background set-up running past the session."""
    from tests.rendered_project import BackgroundSetup

    BackgroundSetup.stop_all()
