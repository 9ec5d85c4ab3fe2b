"""What the training-serving skew check costs a monitor run: its step against the run's other
monitoring steps (serving drift and live quality, the anchor), in the same runs.

    make demo && python benchmarks/serving_skew.py [--data data/demo]

Reads the Dagster instance of a finished demo (or any instance whose `monitor` runs include
`serving_skew`): per successful monitor run, the seconds of the `serving_skew` step (the month's
logged requests sampled, their features computed again from the online store, compared with
the mart's rows) and of the `serving_drift` and `live_quality` steps. Medians over the runs.
No such run: exits non-zero and prints no ratio.
"""

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANCHOR_STEPS = ("serving_drift", "live_quality")


def step_seconds(instance, run_id: str) -> dict[str, float]:
    return {
        s.step_key: (s.end_time or 0) - (s.start_time or 0)
        for s in instance.get_run_step_stats(run_id)
        if s.status and s.status.value == "SUCCESS"
    }


def compared_rows(instance, run_id: str) -> int | None:
    import dagster as dg

    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        materialization = entry.asset_materialization
        if materialization.asset_key == dg.AssetKey("serving_skew"):
            return materialization.metadata["compared_rows"].value
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "demo")
    args = parser.parse_args()
    import dagster as dg

    home = args.data / "dagster_home"
    if not (home / "dagster.yaml").exists():
        print(f"no Dagster instance at {home}: run `make demo` first", file=sys.stderr)
        return 1
    instance = dg.DagsterInstance.from_config(str(home))
    runs = instance.get_runs(
        dg.RunsFilter(job_name="monitor", statuses=[dg.DagsterRunStatus.SUCCESS])
    )
    results = []
    for run in runs:
        steps = step_seconds(instance, run.run_id)
        if "serving_skew" in steps and all(s in steps for s in ANCHOR_STEPS):
            results.append(
                (
                    steps["serving_skew"],
                    sum(steps[s] for s in ANCHOR_STEPS),
                    run,
                    compared_rows(instance, run.run_id),
                )
            )
    instance.dispose()
    if not results:
        print("no successful monitor run with serving_skew and its anchor steps", file=sys.stderr)
        return 1
    for skew, anchor, run, rows in results:
        print(
            f"monitor {run.tags.get('mlops/month', '?')}: serving_skew {skew:5.2f} s "
            f"({rows} rows compared), serving_drift + live_quality {anchor:5.2f} s"
        )
    skew = statistics.median(r[0] for r in results)
    anchor = statistics.median(r[1] for r in results)
    print(f"\nmedians of {len(results)} monitor runs:")
    print(f"  serving_skew                 {skew:6.2f} s")
    print(f"  serving_drift + live_quality {anchor:6.2f} s (anchor)")
    print(f"  skew / anchor: {skew / anchor:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
