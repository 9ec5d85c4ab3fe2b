"""Feature-store build: the project (Dagster + dbt) vs the same SQL run as one raw DuckDB
script and vs the same logic in pandas (benchmarks/features_pandas.py, checked identical to the
mart), on the real data and on a scaled copy made by replicating 2013 with shifted years; and
the project adding one month (2013-12, incremental) vs its full rebuild.

The project's builds are runs of the `rebuild_features` job: the full rebuild with
`full_refresh` (every row of every monthly model), the month as a landed delivery updates the
feature store (its partition of the monthly models, then the summaries that read every month;
the reference models are built once, with the first delivery). Before the timed runs the
fixed costs are measured on their own: importing the definitions, `dbt --version`, a dbt parse
with and without a usable partial-parse file.

The raw script is the dbt models' own compiled SQL (`dbt compile`), executed in dependency
order as plain CREATE statements in one DuckDB connection: same logic, no orchestration, no
dbt tests; it also records each model's time. Each build runs in its own process; peak memory
is the whole process tree's RSS. Every build runs `--runs` times (rounds: each build once per
round) and the tables give medians. After the timed runs, the last pandas mart is compared
with the project's, every column of every row (`features_pandas.py --compare`). A build that
exits non-zero, or a pandas mart that differs, stops the benchmark with exit status 1 and no
ratio, printing the failing build's log.

    DUCKDB_DATABASE=data/warehouse.duckdb python benchmarks/features.py --sizes real --runs 3
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOCAL_ZONE = "America/New_York"  # every origin airport's zone
ALL_MONTHS = {
    "dagster/asset_partition_range_start": "2013-01-01",
    "dagster/asset_partition_range_end": "2013-12-01",
}
ONE_MONTH = {"dagster/partition": "2013-12-01"}
FULL_REFRESH = {"ops": {"feature_months": {"config": {"full_refresh": True}}}}


@dataclass
class Run:
    """One timed build."""

    wall_s: float
    peak_mb: float
    returncode: int
    log: Path


def measure(command: list[str], env: dict, log: Path, cwd: Path = ROOT) -> Run:
    """Wall seconds, peak RSS (MB) of the process tree, exit code; output goes to ``log``."""
    start = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        root, peak = psutil.Process(process.pid), 0
        while process.poll() is None:
            try:
                tree = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.05)
    return Run(time.perf_counter() - start, peak / 1e6, process.returncode, log)


def near_dst(column: str) -> str:
    """True within two days of a New York DST change: the UTC offset differs across the window."""
    offset = "timezone('{zone}', {t}) - timezone('UTC', {t})"
    before = offset.format(zone=LOCAL_ZONE, t=f"({column} - INTERVAL 2 DAY)")
    after = offset.format(zone=LOCAL_ZONE, t=f"({column} + INTERVAL 2 DAY)")
    return f"({before}) <> ({after})"


def scaled_copy(source: Path, target: Path, copies: int) -> int:
    """Raw tables only, flights and weather replicated ``copies`` times, k years apart.

    Copy k = 0 is 2013 itself, row for row. Replaying 2013's wall-clock data in another year
    breaks DST invariants the dbt tests guard (two observations landing on one instant at
    fall-back, arrivals a clock hour off), so the shifted copies (k >= 1) drop the rows within
    two days of a DST change in 2013 or in the target year. (Shifting k = 0 too, through New
    York wall-clock time and back, moved 2013's own ambiguous fall-back hour onto one instant:
    3 weather rows at 2013-11-03 05:00 UTC duplicated the 06:00 ones, and the real-data copy
    failed the project's own `unique_combination` test on weather.)
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
            conn.execute(
                f"CREATE TABLE raw.{table} AS SELECT * REPLACE (year + k AS year, "
                f"CASE WHEN k = 0 THEN time_hour ELSE {shifted} END AS time_hour) "
                f"FROM src.raw.{table}, range({copies}) AS r(k) "
                f"WHERE k = 0 OR NOT ({near_dst('time_hour')} OR {near_dst(shifted)})"
            )
        return conn.execute("SELECT count(*) FROM raw.flights").fetchone()[0]


def raw_script(env: dict) -> list[tuple[str, str]]:
    """The compiled model SQL in dependency order: (model name, statements) per model."""
    with tempfile.TemporaryDirectory(prefix="bench-compile-") as target:
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
                target,
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        manifest = json.loads((Path(target) / "manifest.json").read_text())
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
    steps = []
    for uid in order:
        node = nodes[uid]
        schema, name = node["schema"], node["alias"]
        create = f"CREATE SCHEMA IF NOT EXISTS {schema};\n"
        if node["resource_type"] == "seed":
            csv = ROOT / "dbt_project" / node["original_file_path"]
            create += (
                f"CREATE OR REPLACE TABLE {schema}.{name} AS "
                f"SELECT * FROM read_csv('{csv}', all_varchar = true);"
            )
        else:
            kind = "VIEW" if node["config"]["materialized"] == "view" else "TABLE"
            create += f"CREATE OR REPLACE {kind} {schema}.{name} AS {node['compiled_code']};"
        steps.append((name, create))
    return steps


def run_raw_script(database: str, steps_file: str, timings_file: str) -> None:
    """The raw DuckDB build (run in its own process): each model's statements in order, one
    connection, each model's seconds written to ``timings_file``."""
    steps = json.loads(Path(steps_file).read_text())
    limit = os.environ.get("DUCKDB_MEMORY_LIMIT", "80%")
    timings = {}
    with duckdb.connect(database, config={"memory_limit": limit}) as conn:
        for name, sql in steps:
            started = time.perf_counter()
            conn.execute(sql)
            timings[name] = time.perf_counter() - started
    Path(timings_file).write_text(json.dumps(timings))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def failure_summary(log: Path) -> str:
    """What failed, from a build's log: dbt's failure lines and totals (colours stripped), or
    the log's last lines when there are none."""
    lines = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text(errors="replace")).splitlines()
    marks = ("Failure in test", "Got ", "Done. PASS=", "Error in ", "Database Error", "FAIL ")
    picked = list(dict.fromkeys(line.strip() for line in lines if line.strip().startswith(marks)))
    return "\n".join(picked[:20] if picked else lines[-25:])


def startup_costs(env: dict, folder: Path, runs: int) -> None:
    """Fixed costs every project build pays, each measured alone (medians of ``runs``)."""
    project = [
        "--project-dir",
        str(ROOT / "dbt_project"),
        "--profiles-dir",
        str(ROOT / "dbt_project"),
    ]
    target = ["--target-path", str(folder / "startup_target")]
    costs = {
        "import mlops_assets.definitions": [
            sys.executable,
            "-c",
            "import mlops_assets.definitions",
        ],
        "dbt --version": [str(BIN / "dbt"), "--version"],
        "dbt parse, no partial parse": [
            str(BIN / "dbt"),
            "parse",
            "--no-partial-parse",
            *project,
            *target,
        ],
        "dbt parse, partial parse": [str(BIN / "dbt"), "parse", *project, *target],
        "dbt parse, new --vars": [
            str(BIN / "dbt"),
            "parse",
            *project,
            *target,
            "--vars",
            json.dumps({"batch_start": "2013-12-01", "batch_end": "2014-01-01"}),
        ],
    }
    print("fixed costs (median s):", flush=True)
    for name, command in costs.items():
        times = []
        for _ in range(runs):
            if name == "dbt parse, partial parse":
                # a partial parse needs the state of a parse with the same vars just before
                measure(costs["dbt parse, no partial parse"], env, folder / "startup.log")
            run = measure(command, env, folder / "startup.log")
            if run.returncode != 0:
                raise SystemExit(f"{name} failed: {failure_summary(run.log)}")
            times.append(run.wall_s)
        print(f"  {name:34} {median(times):6.2f}", flush=True)


def run_size(label: str, database: Path, rows: int, runs: int, dbt_run: bool = True) -> bool:
    """Every build ``runs`` times, then the pandas parity check; False if anything failed."""
    folder = database.parent
    env = {
        **os.environ,
        "DUCKDB_DATABASE": str(database),
        "DO_NOT_TRACK": "1",
        "MLOPS_DATA_DIR": str(folder),
    }
    home = folder / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(ROOT / "config" / "dagster.yaml", home / "dagster.yaml")
    env["DAGSTER_HOME"] = str(home)
    startup_costs(env, folder, runs)
    steps = raw_script(env)
    (folder / "features_raw.sql").write_text("\n".join(sql for _, sql in steps))
    (folder / "features_raw.json").write_text(json.dumps(steps))
    dbt_args = [
        "--project-dir",
        str(ROOT / "dbt_project"),
        "--profiles-dir",
        str(ROOT / "dbt_project"),
    ]
    (folder / "full_refresh.json").write_text(json.dumps(FULL_REFRESH))
    rebuild = [str(BIN / "dagster"), "job", "execute", "-m", "mlops_assets.definitions"]
    rebuild += ["-j", "rebuild_features"]
    builds = {
        "raw DuckDB script": [
            sys.executable,
            __file__,
            "--raw-script",
            str(database),
            str(folder / "features_raw.json"),
            "{timings}",
        ],
        "pandas (features_pandas.py)": [
            sys.executable,
            str(ROOT / "benchmarks" / "features_pandas.py"),
            str(database),
            "--out",
            str(folder / "flight_features_pandas.parquet"),
        ],
        "dbt run (models only)": [str(BIN / "dbt"), "run", *dbt_args],
        "project: full rebuild": [
            *rebuild,
            *("--tags", json.dumps(ALL_MONTHS), "-c", str(folder / "full_refresh.json")),
        ],
        # after the full rebuild: one month, as a delivery's run updates the feature store
        "project: one month": [
            *rebuild,
            *("--tags", json.dumps(ONE_MONTH), "-o", "feature_months*"),
        ],
    }
    if not dbt_run:
        del builds["dbt run (models only)"]
    results: dict[str, list[Run]] = {name: [] for name in builds}
    model_times: dict[str, list[float]] = {}
    failed: Run | None = None
    for i in range(runs):
        for name, command in builds.items():
            timings = folder / f"raw_model_timings_{i}.json"
            command = [str(timings) if part == "{timings}" else part for part in command]
            slug = name.split()[0].strip(":").lower()
            run = measure(command, env, folder / f"{slug}_{i}.log")
            results[name].append(run)
            print(
                f"  run {i + 1}/{runs} {name:30} {run.wall_s:7.1f} s  rc {run.returncode}",
                flush=True,
            )
            if run.returncode != 0:
                failed = run
                break
            if name == "raw DuckDB script":
                for model, seconds in json.loads(timings.read_text()).items():
                    model_times.setdefault(model, []).append(seconds)
        if failed:
            break
    if not failed:
        # the same features, not just the same time: the last pandas mart equals the project's
        check = measure(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "features_pandas.py"),
                str(database),
                "--compare",
                str(folder / "flight_features_pandas.parquet"),
            ],
            env,
            folder / "pandas_check.log",
        )
        print(f"  pandas mart vs the project's (--compare): rc {check.returncode}", flush=True)
        if check.returncode != 0:
            failed = check

    print(f"\n{label}: {rows:,} flights, medians of {runs} run(s)")
    print(f"{'':30} {'wall s':>8} {'rows/s':>9} {'peak MB':>8}  runs (wall s), exit codes")
    for name, done in results.items():
        wall, peak = median([r.wall_s for r in done]), median([r.peak_mb for r in done])
        runs_text = ", ".join(f"{r.wall_s:.1f}" for r in done)
        codes = ",".join(str(r.returncode) for r in done)
        print(f"{name:30} {wall:8.1f} {rows / wall:9.0f} {peak:8.0f}  {runs_text}; rc {codes}")
    slowest = sorted(model_times.items(), key=lambda kv: -median(kv[1]))
    print(
        "raw script, per model (median s): "
        + ", ".join(f"{model} {median(times):.2f}" for model, times in slowest[:8])
    )
    if failed:
        print(f"\nFAILED (exit {failed.returncode}), no ratio: {failed.log}")
        print(failure_summary(failed.log))
        return False
    med = {
        name: (median([r.wall_s for r in d]), median([r.peak_mb for r in d]))
        for name, d in results.items()
    }
    raw, project = med["raw DuckDB script"], med["project: full rebuild"]
    month = med["project: one month"]
    pandas = med["pandas (features_pandas.py)"]
    models = med.get("dbt run (models only)")
    print(
        f"project / raw DuckDB: time {project[0] / raw[0]:.2f}, memory {project[1] / raw[1]:.2f}; "
        + (f"dbt run / raw: time {models[0] / raw[0]:.2f}; " if models else "")
        + f"project / pandas: time {project[0] / pandas[0]:.2f}, "
        f"memory {project[1] / pandas[1]:.2f}; "
        f"one month / full rebuild: time {month[0] / project[0]:.2f}, "
        f"memory {month[1] / project[1]:.2f}"
    )
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=31, help="year copies for the scaled run")
    parser.add_argument("--sizes", default="real,scaled")
    parser.add_argument("--runs", type=int, default=3, help="runs of every build; medians")
    parser.add_argument(
        "--scaled-runs", type=int, default=1, help="runs at scale (a 10 M run takes ~20 min)"
    )
    parser.add_argument(
        "--skip-dbt-run-scaled", action="store_true", help="no models-only dbt run at scale"
    )
    parser.add_argument(
        "--raw-script", nargs=3, metavar=("DB", "STEPS", "TIMINGS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.raw_script:
        run_raw_script(*args.raw_script)
        return 0
    source = Path(os.environ.get("DUCKDB_DATABASE", ROOT / "data" / "warehouse.duckdb"))
    work = Path(tempfile.mkdtemp(prefix="bench-features-"))
    print(f"working folder (copies, logs): {work}")
    for size in args.sizes.split(","):
        folder = work / size
        folder.mkdir()
        database = folder / "warehouse.duckdb"
        copies = 1 if size == "real" else args.scale
        rows = scaled_copy(source, database, copies)
        ok = run_size(
            f"{size} ({copies} x 2013)",
            database,
            rows,
            args.runs if size == "real" else args.scaled_runs,
            dbt_run=not (size == "scaled" and args.skip_dbt_run_scaled),
        )
        if not ok:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
