"""Evaluate the project's sensors in-process against a real Dagster instance, and launch what
they request the way the daemon does: a run key already used by that sensor is skipped.

The replay and the loop's integration test use this so that their timeline is deterministic;
under `dagster dev` the daemon evaluates the very same sensor definitions on its own clock.
"""

from dataclasses import dataclass, field

import dagster as dg


@dataclass
class Tick:
    sensor: str
    skip_reason: str | None = None
    launched: list[dg.ExecuteInProcessResult] = field(default_factory=list)
    deduplicated: list[str] = field(default_factory=list)


class SensorTicks:
    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance, log_level: str = "INFO"):
        self.defs, self.instance, self.log_level = defs, instance, log_level
        self.cursors: dict[str, str | None] = {}

    def run(
        self,
        job_name: str | None,
        run_config: dict | None = None,
        tags: dict | None = None,
        partition_key: str | None = None,
        assets: list[str] | None = None,
    ) -> dg.ExecuteInProcessResult:
        """One run in this process, recorded in the instance (the UI shows it like any other);
        ``job_name`` None with ``assets`` materializes just those assets."""
        job = (
            self.defs.resolve_job_def(job_name)
            if job_name
            else self.defs.resolve_implicit_global_asset_job_def()
        )
        config = {
            **(run_config or {}),
            "loggers": {"console": {"config": {"log_level": self.log_level}}},
        }
        return job.execute_in_process(
            run_config=config,
            instance=self.instance,
            partition_key=partition_key,
            asset_selection=[dg.AssetKey.from_user_string(a) for a in assets] if assets else None,
            tags=tags,
            raise_on_error=False,
        )

    def _evaluate(self, name: str):
        sensor = self.defs.resolve_sensor_def(name)
        resources = {
            key: value
            for key, value in self.defs.resources.items()
            if key in sensor.required_resource_keys
        }
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursors.get(name),
            resources=resources,
            sensor_name=name,
        )
        result = sensor(context)
        cursor = context.cursor
        if isinstance(result, dg.SensorResult):
            cursor = result.cursor if result.cursor is not None else cursor
            result = result.skip_reason or list(result.run_requests or [])
        self.cursors[name] = cursor
        return sensor, result

    def tick(self, name: str) -> Tick:
        """One evaluation of sensor ``name``, running each new request to completion."""
        sensor, result = self._evaluate(name)
        if result is None:
            return Tick(name, skip_reason="nothing returned")
        if isinstance(result, dg.SkipReason):
            return Tick(name, skip_reason=result.skip_message)
        requests = [result] if isinstance(result, dg.RunRequest) else list(result)
        tick = Tick(name)
        for request in requests:
            tags = {**request.tags, "dagster/sensor_name": name}
            if request.run_key:
                tags["dagster/run_key"] = request.run_key
                seen = self.instance.get_runs(
                    filters=dg.RunsFilter(
                        tags={"dagster/sensor_name": name, "dagster/run_key": request.run_key}
                    ),
                    limit=1,
                )
                if seen:
                    tick.deduplicated.append(request.run_key)
                    continue
            tick.launched.append(
                self.run(
                    request.job_name or sensor.job_name,
                    request.run_config,
                    tags,
                    request.partition_key,
                )
            )
        return tick
