"""The demo's month-by-month script of the outside world, and the waits between its acts.

Waiting is reading: the loop polls the Dagster instance (runs, materializations) and the
service, prints what the daemon launched, and never launches a run itself.
"""

import sys
import time
from pathlib import Path

import dagster as dg

from mlops_assets.core.months import month_after, month_range
from mlops_assets.core.serving.readiness import kill_tree, start_bentoml_serve, wait_until_ready
from mlops_assets.dataset import demo
from mlops_assets.demo import services, world
from mlops_assets.demo.summary import print_summary
from mlops_assets.demo.timeline import IN_FLIGHT, Watcher, latest_metadata, sensor_ticks
from mlops_assets.resources.model_registry import ModelRegistryResource
from mlops_assets.resources.raw_files import RawFilesResource
from mlops_assets.settings import PROJECT_ROOT

# The sensors whose next tick may launch a run after a run ends: settled means each of them has
# looked since (a finished tick of its own, read from the instance) and launched nothing.
LOOP_SENSORS = ("raw_delivery_sensor", "served_traffic_sensor", "model_health_sensor")
# Demo time: a year in minutes, so no cooldown between retrains; profiles flushed every second.
DAGSTER_ENV = {"MLOPS_RETRAIN_COOLDOWN_SECONDS": "0"}
SERVICE_ENV = {"MLOPS_PROFILE_SECONDS": "1", "MLOPS_RELOAD_SECONDS": "1"}


class Loop:
    def __init__(self, instance: dg.DagsterInstance, log: Path, port: int, ui_port: int):
        self.instance, self.log, self.port, self.ui_port = instance, log, port, ui_port
        self.url = f"http://127.0.0.1:{port}"
        self.watcher = Watcher(instance, printer=self.say_plain)
        self.raw_files = RawFilesResource()
        resource = ModelRegistryResource()
        self.registry, self.name = resource.registry(), resource.model_name
        self.dagster = self.service = None
        self.facts: dict[str, dict] = {}
        self.tty = sys.stdout.isatty()

    # servers ------------------------------------------------------------------------------
    def start(self) -> None:
        self.dagster = services.start_dagster_dev(self.ui_port, self.log, DAGSTER_ENV)
        services.wait_for_dagster(self.instance, self.ui_port, self.dagster)
        self.say(f"Dagster is up: watch the same runs live at http://127.0.0.1:{self.ui_port}")

    def serve(self) -> None:
        self.service = start_bentoml_serve(
            PROJECT_ROOT / "bento", self.port, env=SERVICE_ENV, log=self.log
        )
        wait_until_ready(f"{self.url}/readyz", self.service)
        version = self.registry.production(self.name).version
        self.say(f"bentoml serve is up on {self.url}, answering with v{version}")

    def stop(self) -> None:
        self._clear_progress()
        if self.service is not None:
            kill_tree(self.service)
        if self.dagster is not None:
            seconds = services.stop_dagster(self.dagster, self.instance)
            self.say(f"dagster dev stopped in {seconds:.1f} s")

    # the outside world --------------------------------------------------------------------
    def deliver(self, month: str) -> float:
        rows = world.deliver_month(self.raw_files, month)
        self.say(f"delivery {month}: " + ", ".join(f"{t} {n:,} rows" for t, n in rows.items()))
        return time.time()

    def bootstrap(self, history: str, first: str) -> None:
        """Deliver the months before ``first``; the daemon loads them, builds the feature store
        and, with no production model yet, trains the first one."""
        for month in month_range(history, month_after(first, -1)):
            delivered = self.deliver(month)
        self.wait(
            "a first model is in production",
            900,
            lambda: self.registry.production(self.name) is not None and self._settled(delivered),
        )

    def month(self, month: str, requests: int, drifted: bool) -> None:
        """One month of the world: its data is delivered, then its rows are asked about."""
        traffic = world.month_traffic(self.raw_files, month, requests, drifted)
        before = self.registry.production(self.name).version
        delivered = self.deliver(month)
        self.wait(f"{month} is loaded and judged", 600, lambda: self._settled(delivered))
        self.facts.setdefault(month, {})["features_seconds"] = self._features_seconds(delivered)
        before = self._await_swap(month, before, traffic[0], self._ended("land_months", month))
        sent = time.time()
        answered = world.send(self.url, traffic)
        label = f" (drift injected: {demo.DRIFT})" if drifted else ""
        self.say(f"traffic {month}: {len(traffic):,} requests{label} -> {dict(answered)}")
        served = sum(n for version, n in answered.items() if version.startswith("v"))
        self.wait(
            f"{month}'s traffic is judged",
            600,
            lambda: self._monitored(month, served) and self._settled(sent),
        )
        self._await_swap(month, before, traffic[0], self._ended("monitor", month))

    def _await_swap(self, month: str, before: int, probe: dict, judged_at: float) -> int:
        """If production changed, wait until the service answers with it; report how long
        after the check that asked for the retrain. Returns the production version."""
        after = self.registry.production(self.name).version
        if after != before:
            self.wait(
                f"the service answers with v{after}",
                120,
                lambda: world.served_version(self.url, probe) == after,
            )
            seconds = time.time() - judged_at
            self.facts[month]["drift_to_served_seconds"] = seconds
            self.say(f"the service answers with v{after}, {seconds:.0f} s after the drift check")
        return after

    def redeliver(self, month: str) -> None:
        """The same files delivered again: nothing may run."""
        runs = len(self.watcher.runs())
        delivered = self.deliver(month)
        self.wait(f"{month} re-delivered", 120, lambda: self._settled(delivered))
        new = len(self.watcher.runs()) - runs
        self.say(f"re-delivery of {month}, unchanged: {new} run(s) launched")

    def trickle(self, month: str, minutes: float, every: float = 15) -> None:
        """Steady light traffic for ``month``: one request every ``every`` seconds. Monitoring
        must run on an interval then, not once per profile file."""
        pool = world.month_traffic(self.raw_files, month, 5000)
        before, started, sent = len(self._runs("monitor", month)), time.time(), 0
        while time.time() - started < minutes * 60:
            world.send(self.url, [pool[sent % len(pool)]])
            sent += 1
            due = time.time() + every
            self.wait(f"trickle of {month}", every + 5, lambda due=due: time.time() >= due)
        runs = len(self._runs("monitor", month)) - before
        self.facts.setdefault(month, {})["trickle_monitor_runs"] = runs
        self.say(f"trickle {month}: {sent} requests in {minutes:g} min -> {runs} monitor run(s)")

    def bad_delivery(self, month: str) -> None:
        """A delivery whose schema changed: its load must stop, naming the column, and nothing
        after it may change."""
        before = self.registry.production(self.name).version
        table, column, renamed = demo.SCHEMA_FAULT
        world.deliver_with_renamed_column(self.raw_files, month, table, column, renamed)
        delivered = time.time()
        self.say(f"delivery {month}: {table} with column {column} renamed (an injected fault)")
        self.wait(f"{month} is refused", 300, lambda: self._settled(delivered))
        after = self.registry.production(self.name).version
        self.say(f"production after the refused delivery: v{after} (before: v{before})")

    def summary(self) -> None:
        self._clear_progress()
        print_summary(self.instance, self.watcher, self.registry, self.name, self.facts)

    # reading the instance -----------------------------------------------------------------
    def _features_seconds(self, delivered: float) -> float | None:
        latest = latest_metadata(self.instance, "online_store")
        return latest[0] - delivered if latest and latest[0] > delivered else None

    def _runs(self, job: str, month: str) -> list[dg.RunRecord]:
        return self.instance.get_run_records(
            filters=dg.RunsFilter(job_name=job, tags={"mlops/month": month})
        )

    def _monitored(self, month: str, served: int) -> bool:
        return any(
            r.dagster_run.status == dg.DagsterRunStatus.SUCCESS
            and int(r.dagster_run.tags.get("mlops/served_rows", 0)) >= served
            for r in self._runs("monitor", month)
        )

    def _ended(self, job: str, month: str) -> float:
        """When the month's latest run of ``job`` ended (now, if none did)."""
        return max((r.end_time or 0 for r in self._runs(job, month)), default=time.time())

    def _settled(self, since: float) -> bool:
        """No run in flight, and every loop sensor has finished a tick after ``since`` and
        after the last run ended: nothing more will happen until the world acts again."""
        records = self.watcher.runs()
        if any(r.dagster_run.status in IN_FLIGHT for r in records):
            return False
        after = max([since, *(r.end_time or 0 for r in records)])
        ticks = sensor_ticks(self.instance, after)
        return all(ticks.get(sensor) for sensor in LOOP_SENSORS)

    # printing -----------------------------------------------------------------------------
    def say(self, what: str) -> None:
        self._clear_progress()
        self.watcher.say(what)

    def wait(self, goal: str, timeout: float, done) -> None:
        started = time.monotonic()
        while True:
            in_flight = self.watcher.poll()
            if done():
                self._clear_progress()
                return
            elapsed = time.monotonic() - started
            if elapsed > timeout:
                raise TimeoutError(f"waited {timeout:.0f} s for: {goal}")
            if self.tty:
                running = ", ".join(r.job_name for r in in_flight) or "sensors"
                sys.stdout.write(f"\r  ... {goal}: {elapsed:4.0f} s ({running})\x1b[K")
                sys.stdout.flush()
            time.sleep(1)

    def say_plain(self, line: str) -> None:
        self._clear_progress()
        print(line, flush=True)

    def _clear_progress(self) -> None:
        if self.tty:
            sys.stdout.write("\r\x1b[K")
            sys.stdout.flush()
