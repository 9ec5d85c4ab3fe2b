"""The closed loop end to end, on real data: a real `bentoml serve`, real whylogs profiles, the
project's real sensors evaluated against the session's Dagster instance, real retrain runs.

The model version must change when, and only when, drift or live quality crosses its
threshold, and not at all when the same month is replayed again.
"""

import dagster as dg

from mlops_assets.core.readiness import start_bentoml_serve, wait_until_ready
from tests.conftest import REPO, free_port
from tests.model_lab import WEAK


def test_the_loop_retrains_when_and_only_when_a_threshold_is_crossed(built_warehouse):
    from mlops_assets.definitions import defs
    from mlops_assets.replay import replay, serve_as_of, served_version
    from mlops_assets.sensor_ticks import SensorTicks

    ticks = SensorTicks(defs, dg.DagsterInstance.get(), log_level="CRITICAL")
    resource = defs.resources["model_registry"]
    registry, name = resource.registry(), resource.model_name
    serve_as_of(ticks, "2013-04")
    # A deliberately weak first model, trained on January and evaluated on March.
    weak = {op: {"config": config} for op, config in WEAK.items()}
    weak["training_set"] = {"config": {"test_month": "2013-03", "train_months": 1}}
    assert ticks.run("retrain", {"ops": weak}).success
    first = registry.production(name).version

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_bentoml_serve(
        REPO / "bento", port, env={"MLOPS_PROFILE_SECONDS": "1", "MLOPS_RELOAD_SECONDS": "1"}
    )
    timeline: list[str] = []

    def say(month, event):
        timeline.append(f"{month} {event}")

    try:
        wait_until_ready(f"{url}/readyz", server)
        # 1. A thin month: profiles and monitoring run, nothing crosses, nothing retrains.
        (thin,) = replay(ticks, url, ["2013-04"], 200, set(), say)
        assert thin["drift"] == "too_few_rows", timeline
        assert registry.production(name).version == first, timeline

        # 2. The evening-Newark mix: drift (and the weak model's live AUC) cross -> retrain,
        #    the gate promotes, and the running service answers with the new version.
        (crossed,) = replay(ticks, url, ["2013-04"], 2000, {"2013-04"}, say)
        assert crossed["drift"] == "drift", timeline
        second = registry.production(name).version
        assert second != first, timeline
        assert crossed["action"] == f"retrained, v{second} promoted", timeline
        assert (
            served_version(
                url,
                {
                    "carrier": "UA",
                    "flight_number": 1545,
                    "origin": "EWR",
                    "dest": "IAH",
                    "scheduled_departure": "2013-04-20T17:30:00",
                },
            )
            == second
        )

        # 3. The same month replayed: drift crosses again, but it was learnt already.
        (again,) = replay(ticks, url, ["2013-04"], 2000, {"2013-04"}, say)
        assert again["drift"] == "drift", timeline
        assert registry.production(name).version == second, timeline
        assert "already" in again["action"], timeline
    finally:
        server.terminate()
        server.wait(timeout=30)
    runs = ticks.instance.get_runs(
        filters=dg.RunsFilter(tags={"dagster/sensor_name": "model_health_sensor"})
    )
    assert len(runs) == 1 and runs[0].tags["mlops/trigger"] in ("drift", "quality")
