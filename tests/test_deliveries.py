"""Deliveries and monitoring cadence: the rules the daemon's sensors apply, as pure decisions and
through Dagster's own sensor API (``build_sensor_context``)."""

import datetime as dt
import uuid

import dagster as dg

from mlops_assets.core.ingestion.deliveries import FAILED, LOADED, LOADING, Attempt, plan_deliveries
from mlops_assets.core.months import month_after
from mlops_assets.dataset import problem
from mlops_assets.dataset.raw_tables import MONTHLY_TABLES, STATIC_TABLES
from mlops_assets.resources.monitoring_policy import MonitoringPolicy
from mlops_assets.sensors.monitoring import monitor_due
from tests.contract import MONTHS, TEST_MONTH, partition

# Planning is a pure decision over any monthly tables: two, by their fingerprints.
PLANNED = ("events", "observations")
# The dataset's monthly tables, as the delivery sensor finds them in the landing folder.
TABLES = tuple(t.name for t in MONTHLY_TABLES)
M1, M2, M3, M4 = MONTHS[:4]


def delivered(*months: str) -> dict:
    return {m: {"events": f"f{m}", "observations": f"w{m}"} for m in months}


def loaded(month: str, state: str = LOADED) -> Attempt:
    return Attempt(f"f{month}+w{month}", state, "0123456789abcdef")


def test_the_first_delivery_loads_its_months_together_in_order():
    plan = plan_deliveries(delivered("2013-01", "2013-02", "2013-03"), PLANNED, {})
    assert plan.loads == [("2013-01", "2013-03")] and not plan.waiting


def test_an_unchanged_redelivery_is_nothing_to_do_and_a_correction_reloads():
    attempts = {"2013-01": loaded("2013-01"), "2013-02": loaded("2013-02")}
    assert plan_deliveries(delivered("2013-01", "2013-02"), PLANNED, attempts).loads == []
    corrected = delivered("2013-01", "2013-02")
    corrected["2013-02"]["events"] = "changed"
    assert plan_deliveries(corrected, PLANNED, attempts).loads == [("2013-02", "2013-02")]


def test_a_correction_also_rebuilds_the_loaded_months_whose_windows_read_it():
    months = ("2013-01", "2013-02", "2013-03", "2013-04")
    attempts = {m: loaded(m) for m in months}
    corrected = delivered(*months)
    corrected["2013-01"]["events"] = "changed"
    plan = plan_deliveries(corrected, PLANNED, attempts)
    last = months_reading_back_into("2013-01", months)[-1]
    assert plan.loads == [("2013-01", last)]
    assert plan.fingerprints[last] == f"f{last}+w{last}"


def months_reading_back_into(corrected: str, months: tuple[str, ...]) -> list[str]:
    """The months whose first decision's window (``FEATURE_LOOKBACK_DAYS`` back, the dataset's own
    setting) still reaches into ``corrected``: calendar arithmetic, apart from the planner's."""
    end = dt.date.fromisoformat(f"{month_after(corrected)}-01")
    lookback = dt.timedelta(days=problem.FEATURE_LOOKBACK_DAYS)
    first_day = {m: dt.date.fromisoformat(f"{m}-01") for m in months}
    return [m for m in months if m >= corrected and first_day[m] - lookback < end]


def test_a_month_after_a_gap_waits_and_says_for_what():
    plan = plan_deliveries(delivered("2013-01", "2013-03"), PLANNED, {"2013-01": loaded("2013-01")})
    assert plan.loads == []
    assert plan.waiting == {"2013-03": "waits for 2013-02: it has not been delivered"}


def test_an_incomplete_delivery_holds_back_later_months():
    files = delivered("2013-01", "2013-03")
    files["2013-02"] = {"events": "f"}
    plan = plan_deliveries(files, PLANNED, {})
    assert plan.loads == [("2013-01", "2013-01")]
    assert "no file yet for observations" in plan.waiting["2013-02"]
    assert plan.waiting["2013-03"] == "waits for 2013-02: it is incomplete"


def test_a_failed_or_running_load_holds_back_later_months():
    files = delivered("2013-01", "2013-02")
    for state, why in ((FAILED, "its load failed in run 01234567"), (LOADING, "it is loading")):
        plan = plan_deliveries(files, PLANNED, {"2013-01": loaded("2013-01", state)})
        assert plan.loads == [] and plan.waiting["2013-02"].startswith(f"waits for 2013-01: {why}")


def test_a_burst_of_traffic_is_judged_once_it_settles_a_trickle_on_an_interval():
    policy = MonitoringPolicy(
        monitor_every_rows=1000, monitor_interval_seconds=600, monitor_settle_seconds=5
    )
    now = 10_000.0
    assert not monitor_due(None, 2000, newest_flush=now - 1, now=now, policy=policy)  # mid-burst
    assert monitor_due(None, 2000, newest_flush=now - 6, now=now, policy=policy)
    judged = {"rows": 2000, "at": now}
    assert not monitor_due(judged, 2000, now - 60, now + 60, policy)  # nothing new
    assert not monitor_due(judged, 2040, now, now + 300, policy)  # a trickle, too soon
    assert monitor_due(judged, 2040, now, now + 601, policy)  # a trickle, after the interval
    assert monitor_due(judged, 3100, now - 10, now + 30, policy)  # another settled burst


def test_the_delivery_sensor_requests_one_run_for_the_delivered_months(tmp_path):
    from mlops_assets.definitions import defs
    from mlops_assets.resources.model_registry import ModelRegistryResource
    from mlops_assets.resources.raw_files import RawFilesResource
    from mlops_assets.sensors.delivery import DELIVERY_TAG, raw_delivery_sensor

    for table in TABLES:
        for month in (M1, M2):
            path = tmp_path / "landing" / table / f"{month}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"a,b\n{table},{month}\n")
    context = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(),
        resources={
            "raw_files": RawFilesResource(landing_dir=str(tmp_path / "landing")),
            "model_registry": ModelRegistryResource(local_root=str(tmp_path / "registry")),
        },
        definitions=defs,
    )
    [request] = raw_delivery_sensor(context)
    assert request.tags["dagster/asset_partition_range_start"] == partition(M1)
    assert request.tags["dagster/asset_partition_range_end"] == partition(M2)
    assert request.tags[DELIVERY_TAG].startswith(f"{M1}=")
    selected = {key.to_user_string() for key in request.asset_selection}
    # the first delivery brings the reference data; no production model: nothing to judge
    raw = {f"raw/{t.name}" for t in (*MONTHLY_TABLES, *STATIC_TABLES)}
    assert {*raw, problem.FEATURE_TABLE.replace(".", "/")} <= selected
    assert "online_store" in selected and "arrival_drift" not in selected


def test_the_served_traffic_sensor_judges_a_burst_once(tmp_path):
    """Through Dagster's sensor API, against real profile files: one request for a month's
    burst, none when nothing new was served since."""
    import polars as pl

    from mlops_assets.core.monitoring.profiling import profile_frame
    from mlops_assets.resources.model_registry import ModelRegistryResource
    from mlops_assets.resources.profile_store import ProfileStoreResource
    from mlops_assets.sensors.monitoring import served_traffic_sensor

    profiles = ProfileStoreResource(local_root=str(tmp_path))
    registry = ModelRegistryResource(local_root=str(tmp_path / "registry"))
    view = profile_frame(pl.DataFrame({"x": [200.0, 1400.0]}))
    for rows in (700, 500):  # two flushes of one burst
        profiles.store().put_serving(registry.model_name, TEST_MONTH, view, rows)
    resources = {
        "model_registry": registry,
        "profiles": profiles,
        "monitoring_policy": MonitoringPolicy(monitor_settle_seconds=0),
    }
    context = dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), resources=resources)
    [request] = served_traffic_sensor(context)
    assert (
        request.partition_key == partition(TEST_MONTH)
        and request.tags["mlops/served_rows"] == "1200"
    )
    again = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(), resources=resources, cursor=context.cursor
    )
    assert isinstance(served_traffic_sensor(again), dg.SkipReason)


def _delivered(landing, month: str, text: str) -> None:
    for table in TABLES:
        path = landing / table / f"{month}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"a,b\n{table},{text}\n")


def _loaded_run(instance, landing, status=dg.DagsterRunStatus.SUCCESS) -> dg.DagsterRun:
    """A land run of what is in the landing folder now, as the delivery sensor records it."""
    from mlops_assets.jobs import land_months_job
    from mlops_assets.sensors.delivery import DELIVERY_TAG, delivered_files

    files = delivered_files(landing)
    delivery = ";".join(f"{m}={'+'.join(files[m][t] for t in TABLES)}" for m in sorted(files))
    run = dg.DagsterRun(
        job_name=land_months_job.name,
        run_id=uuid.uuid4().hex,
        tags={DELIVERY_TAG: delivery},
        status=status,
    )
    instance.add_run(run)
    return run


def test_training_waits_for_delivered_months_until_their_load_has_finished(tmp_path):
    """The health sensor's guard: a month delivered together with the others (or loading now)
    is waited for, so a first model is not trained a tick early on part of the history."""
    from mlops_assets.sensors.delivery import loads_pending

    landing, instance = tmp_path / "landing", dg.DagsterInstance.ephemeral()
    for month in (M1, M2):
        _delivered(landing, month, month)
    assert loads_pending(instance, landing) == f"{M1}, {M2} delivered, not loaded yet"
    run = _loaded_run(instance, landing, dg.DagsterRunStatus.STARTED)
    assert loads_pending(instance, landing) == f"{M1}, {M2} loading"
    # the run ends: nothing is pending any more
    instance.run_storage.handle_run_event(
        run.run_id,
        dg.DagsterEvent(
            event_type_value=dg.DagsterEventType.RUN_SUCCESS.value, job_name=run.job_name
        ),
    )
    assert loads_pending(instance, landing) is None


def test_a_month_corrected_and_then_reverted_is_loaded_again(tmp_path):
    """A, then a correction B, then A again: the third delivery is a new load (its own run key),
    not a request Dagster drops because the first load of A used that key."""
    from mlops_assets.definitions import defs
    from mlops_assets.resources.model_registry import ModelRegistryResource
    from mlops_assets.resources.raw_files import RawFilesResource
    from mlops_assets.sensors.delivery import raw_delivery_sensor

    landing, instance = tmp_path / "landing", dg.DagsterInstance.ephemeral()
    resources = {
        "raw_files": RawFilesResource(landing_dir=str(landing)),
        "model_registry": ModelRegistryResource(local_root=str(tmp_path / "registry")),
    }

    def request():
        context = dg.build_sensor_context(instance=instance, resources=resources, definitions=defs)
        result = raw_delivery_sensor(context)
        return None if isinstance(result, dg.SkipReason) else result[0]

    keys = []
    for text in ("A", "B", "A"):
        _delivered(landing, M1, text)
        keys.append(request().run_key)
        _loaded_run(instance, landing)
    assert request() is None  # loaded: nothing more to do
    assert len(set(keys)) == 3, keys


def test_the_health_sensor_waits_for_a_delivered_month_before_training(tmp_path):
    """Through Dagster's sensor API: features current with what was loaded, but a month
    delivered and not loaded yet -> no retrain requested, and the skip says why."""
    from mlops_assets.assets.features import FEATURE_MART
    from mlops_assets.resources.model_registry import ModelRegistryResource
    from mlops_assets.resources.monitoring_policy import MonitoringPolicy
    from mlops_assets.resources.raw_files import RawFilesResource
    from mlops_assets.sensors.monitoring import RAW_EVENTS, model_health_sensor

    landing, instance = tmp_path / "landing", dg.DagsterInstance.ephemeral()
    for month in (M1, M2, M3):
        instance.report_runless_asset_event(
            dg.AssetMaterialization(RAW_EVENTS, partition=f"{month}-01")
        )
    instance.report_runless_asset_event(dg.AssetMaterialization(FEATURE_MART))
    resources = {
        "raw_files": RawFilesResource(landing_dir=str(landing)),
        "model_registry": ModelRegistryResource(local_root=str(tmp_path / "registry")),
        "monitoring_policy": MonitoringPolicy(),
    }

    def evaluate():
        return model_health_sensor(dg.build_sensor_context(instance=instance, resources=resources))

    assert isinstance(evaluate(), dg.RunRequest)  # three months landed: a cold start
    _delivered(landing, M4, "the fourth month")
    waiting = evaluate()
    assert isinstance(waiting, dg.SkipReason)
    assert f"{M4} delivered, not loaded yet" in waiting.skip_message
