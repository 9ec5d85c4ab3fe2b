"""Feature-store build: the project (Dagster + dbt) vs the same SQL run as one raw DuckDB
script and vs the same logic in pandas (benchmarks/features_pandas.py, checked identical to the
mart), on the real data and on a scaled copy made by replicating 2013 with shifted years.

The raw script is the dbt models' own compiled SQL (`dbt compile`), executed in dependency
order as plain CREATE statements in one DuckDB connection: same logic, no orchestration, no
dbt tests. Each build runs in its own process; peak memory is the whole process tree's RSS.

    DUCKDB_DATABASE=data/warehouse.duckdb python benchmarks/features.py --scale 31
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOCAL_ZONE = "America/New_York"  # every origin airport's zone
FEATURE_GROUPS = (
    "(group:reference or group:staging or group:intermediate or group:marts or group:online)"
)


def measure(command: list[str], env: dict, cwd: Path = ROOT) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) of the process tree, exit code."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    return time.perf_counter() - start, peak / 1e6, process.returncode


def near_dst(column: str) -> str:
    """True within two days of a New York DST change: the UTC offset differs across the window."""
    offset = "timezone('{zone}', {t}) - timezone('UTC', {t})"
    before = offset.format(zone=LOCAL_ZONE, t=f"({column} - INTERVAL 2 DAY)")
    after = offset.format(zone=LOCAL_ZONE, t=f"({column} + INTERVAL 2 DAY)")
    return f"({before}) <> ({after})"


def scaled_copy(source: Path, target: Path, copies: int) -> int:
    """Raw tables only, flights and weather replicated ``copies`` times, k years apart.

    Replaying 2013's wall-clock data in another year breaks DST invariants the dbt tests guard
    (two observations landing on one instant at fall-back, arrivals a clock hour off), so the
    scaled copy drops the rows within two days of a DST change in 2013 or in the target year.
    """
    target.unlink(missing_ok=True)
    with duckdb.connect(str(target)) as conn:
        conn.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
        conn.execute("CREATE SCHEMA raw")
        for table in ("planes", "airports", "airlines"):
            conn.execute(f"CREATE TABLE raw.{table} AS SELECT * FROM src.raw.{table}")
        for table in ("flights", "weather"):
            # shift in New York wall-clock time, so the local hour/minute columns and the
            # instant agree across each year's own DST dates
            shifted = (
                f"timezone('{LOCAL_ZONE}', timezone('{LOCAL_ZONE}', time_hour) "
                f"+ to_years(k::INTEGER))"
            )
            keep = (
                "true"
                if copies == 1
                else f"NOT {near_dst('time_hour')} AND NOT {near_dst(shifted)}"
            )
            conn.execute(
                f"CREATE TABLE raw.{table} AS SELECT * REPLACE (year + k AS year, "
                f"{shifted} AS time_hour) "
                f"FROM src.raw.{table}, range({copies}) AS r(k) WHERE {keep}"
            )
        return conn.execute("SELECT count(*) FROM raw.flights").fetchone()[0]


def raw_script(env: dict) -> str:
    """The compiled model SQL in dependency order, as one script."""
    target = Path(tempfile.mkdtemp(prefix="bench-compile-"))
    subprocess.run(
        [
            str(BIN / "dbt"),
            "compile",
            "--quiet",
            "--project-dir",
            str(ROOT / "dbt_project"),
            "--profiles-dir",
            str(ROOT / "dbt_project"),
            "--target-path",
            str(target),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    manifest = json.loads((target / "manifest.json").read_text())
    nodes = {k: v for k, v in manifest["nodes"].items() if v["resource_type"] in ("model", "seed")}
    done, order = set(), []

    def visit(uid):
        if uid in done or uid not in nodes:
            return
        for dep in nodes[uid]["depends_on"].get("nodes", []):
            visit(dep)
        done.add(uid)
        order.append(uid)

    for uid in sorted(nodes):
        visit(uid)
    statements = []
    for uid in order:
        node = nodes[uid]
        schema, name = node["schema"], node["alias"]
        statements.append(f"CREATE SCHEMA IF NOT EXISTS {schema};")
        if node["resource_type"] == "seed":
            csv = ROOT / "dbt_project" / node["original_file_path"]
            statements.append(
                f"CREATE OR REPLACE TABLE {schema}.{name} AS "
                f"SELECT * FROM read_csv('{csv}', all_varchar = true);"
            )
        else:
            kind = "VIEW" if node["config"]["materialized"] == "view" else "TABLE"
            statements.append(
                f"CREATE OR REPLACE {kind} {schema}.{name} AS {node['compiled_code']};"
            )
    return "\n".join(statements)


def run_size(label: str, database: Path, rows: int, dbt_run: bool = True) -> dict:
    env = {
        **os.environ,
        "DUCKDB_DATABASE": str(database),
        "DO_NOT_TRACK": "1",
        "MLOPS_DATA_DIR": str(database.parent),
    }
    home = database.parent / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(ROOT / "config" / "dagster.yaml", home / "dagster.yaml")
    env["DAGSTER_HOME"] = str(home)
    script = database.parent / "features_raw.sql"
    script.write_text(raw_script(env))
    runner = (
        "import duckdb, os, sys; "
        "c = duckdb.connect(sys.argv[1], config={'memory_limit': "
        "os.environ.get('DUCKDB_MEMORY_LIMIT', '80%')}); c.execute(open(sys.argv[2]).read())"
    )
    results = {}
    results["raw DuckDB script"] = measure(
        [sys.executable, "-c", runner, str(database), str(script)], env
    )
    results["pandas (benchmarks/features_pandas.py)"] = measure(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "features_pandas.py"),
            str(database),
            "--out",
            str(database.parent / "flight_features_pandas.parquet"),
        ],
        env,
    )
    if dbt_run:
        results["dbt run (models only)"] = measure(
            [
                str(BIN / "dbt"),
                "run",
                "--project-dir",
                str(ROOT / "dbt_project"),
                "--profiles-dir",
                str(ROOT / "dbt_project"),
            ],
            env,
        )
    results["project: Dagster + dbt build"] = measure(
        [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            "-m",
            "mlops_assets.definitions",
            "--select",
            FEATURE_GROUPS,
        ],
        env,
    )
    print(f"\n{label}: {rows:,} flights")
    print(f"{'':32} {'wall s':>8} {'rows/s':>10} {'peak MB':>9} {'rc':>3}")
    for name, (wall, peak, rc) in results.items():
        print(f"{name:32} {wall:8.1f} {rows / wall:10.0f} {peak:9.0f} {rc:3d}")
    raw, project = results["raw DuckDB script"], results["project: Dagster + dbt build"]
    models = results.get("dbt run (models only)", (float("nan"), 0, 0))
    pandas = results["pandas (benchmarks/features_pandas.py)"]
    print(
        f"project / raw DuckDB: time {project[0] / raw[0]:.2f}, memory {project[1] / raw[1]:.2f}; "
        f"dbt run / raw: time {models[0] / raw[0]:.2f}; "
        f"pandas / project: time {pandas[0] / project[0]:.2f}, memory {pandas[1] / project[1]:.2f}"
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=31, help="year copies for the scaled run")
    parser.add_argument("--sizes", default="real,scaled")
    parser.add_argument(
        "--skip-dbt-run-scaled", action="store_true", help="no models-only dbt run at scale"
    )
    args = parser.parse_args()
    source = Path(os.environ.get("DUCKDB_DATABASE", ROOT / "data" / "warehouse.duckdb"))
    work = Path(tempfile.mkdtemp(prefix="bench-features-"))
    for size in args.sizes.split(","):
        folder = work / size
        folder.mkdir()
        database = folder / "warehouse.duckdb"
        copies = 1 if size == "real" else args.scale
        rows = scaled_copy(source, database, copies)
        run_size(
            f"{size} ({copies} x 2013)",
            database,
            rows,
            dbt_run=not (size == "scaled" and args.skip_dbt_run_scaled),
        )


if __name__ == "__main__":
    main()
