"""The registry under concurrent writers: real processes, started behind a barrier so they
really overlap, on the local folder and on S3 (a real moto S3 server on 127.0.0.1,
`mlops_assets.stack.s3_server`).

LightGBM and PyTorch candidates of one Dagster run register at the same moment under the
multiprocess executor, and two promotions can race; neither may lose or overwrite anything.
"""

import json
import multiprocessing
import traceback
import uuid

import pytest

from mlops_assets.core.blob_store import LocalBlobStore, S3BlobStore
from mlops_assets.core.registry.registry import CorruptModelError, ModelRegistry, sha256

WRITERS = 8
NAME = "m"
BARRIER_TIMEOUT_S = 120
RESULT_TIMEOUT_S = 300


def open_registry(spec: dict) -> ModelRegistry:
    """A registry from a picklable description, so each process opens its own client."""
    if spec["kind"] == "local":
        return ModelRegistry(LocalBlobStore(spec["root"]))
    import boto3

    client = boto3.client("s3", endpoint_url=spec["endpoint"])
    return ModelRegistry(S3BlobStore(client, spec["bucket"], spec["prefix"]))


def model_bytes(worker: int) -> bytes:
    """A model file unique to a writer and large enough that writes take a while."""
    return f"tree of writer {worker}\n".encode() * 20_000


def _register(registry: ModelRegistry, worker: int, go) -> int:
    files = {"model.txt": model_bytes(worker), "model_card.md": f"writer {worker}".encode()}
    go()
    return registry.register(NAME, files, {"worker": worker}).version


def _promote(registry: ModelRegistry, version: int, go) -> list[dict] | None:
    go()
    return registry.promote(NAME, version, reason=f"race for v{version}", actor="pytest")


def _entry(action, spec, arg, barrier, results) -> None:
    """Process body: open the registry, wait for every sibling, act, report the outcome."""
    try:
        registry = open_registry(spec)
        registry.versions(NAME)  # warm up: imports, connections
        value = action(registry, arg, lambda: barrier.wait(BARRIER_TIMEOUT_S))
        results.put((arg, "ok", value))
    except BaseException:
        barrier.abort()
        results.put((arg, "error", traceback.format_exc()))


def run_together(action, spec: dict, args: list) -> dict:
    """Run ``action(registry, arg, go)`` in one spawned process per arg, all released at once."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(args)), ctx.Queue()
    procs = [ctx.Process(target=_entry, args=(action, spec, arg, barrier, results)) for arg in args]
    for proc in procs:
        proc.start()
    try:
        outcomes = [results.get(timeout=RESULT_TIMEOUT_S) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    errors = [text for _, status, text in outcomes if status == "error"]
    assert not errors, errors[0]
    return {arg: value for arg, _, value in outcomes}


@pytest.fixture(scope="module")
def s3_endpoint():
    from tests.test_registry_s3 import moto_server

    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(params=["local", "s3"])
def spec(request, tmp_path) -> dict:
    if request.param == "local":
        return {"kind": "local", "root": str(tmp_path / "registry")}
    endpoint = request.getfixturevalue("s3_endpoint")
    return {"kind": "s3", "endpoint": endpoint, "bucket": "models", "prefix": uuid.uuid4().hex}


def holds_its_own_file(registry: ModelRegistry, version, returned: dict) -> bool:
    """The version passes its checksum and holds the file of the writer it was returned to."""
    worker = version.metadata["worker"]
    try:
        data = registry.read_file(version, "model.txt")
    except CorruptModelError:
        return False
    return data == model_bytes(worker) and returned[worker] == version.version


def test_parallel_registrations_each_get_their_own_intact_version(spec):
    returned = run_together(_register, spec, list(range(WRITERS)))
    registry = open_registry(spec)
    versions = registry.versions(NAME)
    intact = [v for v in versions if holds_its_own_file(registry, v, returned)]
    registered = [e for e in registry.events(NAME) if e["reason"] == "registered"]
    figures = {
        "versions": len(versions),
        "intact": len(intact),
        "registered_events": len(registered),
        "distinct_seq": len({e["seq"] for e in registered}),
    }
    assert figures == dict.fromkeys(figures, WRITERS), (
        f"{WRITERS} parallel registrations left {figures}"
    )
    assert sorted(returned.values()) == list(range(1, WRITERS + 1))
    assert sorted(e["version"] for e in registered) == sorted(returned.values())


def test_racing_promotions_leave_one_production_version_and_every_event(spec):
    registry = open_registry(spec)
    for worker in range(WRITERS + 1):
        registry.register(NAME, {"model.txt": model_bytes(worker)}, {"worker": worker})
    registry.promote(NAME, 1, reason="first champion", actor="pytest")
    before = registry.events(NAME)

    written = run_together(_promote, spec, list(range(2, WRITERS + 2)))

    events = registry.events(NAME)
    stages = registry.stages(NAME)
    live = [v for v, stage in stages.items() if stage == "production"]
    promoted = [e for e in events if e["stage"] == "production"]
    figures = {
        "production_versions": len(live),
        "racing_production_events": sum(e["reason"].startswith("race") for e in promoted),
    }
    assert figures == {"production_versions": 1, "racing_production_events": WRITERS}, (
        f"{WRITERS} racing promotions left {figures}; {len(events)} events in all"
    )
    assert live[0] == promoted[-1]["version"] == registry.production(NAME).version
    assert sorted(stages) == list(range(1, WRITERS + 2))
    assert all(stage == "archived" for v, stage in stages.items() if v != live[0])
    expected = len(before) + sum(len(w) for w in written.values())
    assert len(events) == expected, f"event log holds {len(events)} events, {expected} written"
    assert [e["seq"] for e in events] == list(range(1, expected + 1))
    for version, own in written.items():
        assert [e["stage"] for e in own][:1] == ["production"], own
        assert all(e in events for e in own), f"an event of the v{version} promotion is lost"


def _flip_a_bit(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]


@pytest.mark.parametrize(
    "damage", [lambda d: d[: len(d) // 2], _flip_a_bit], ids=["truncated", "bit-flipped"]
)
def test_promote_refuses_a_damaged_model_file(spec, damage):
    registry = open_registry(spec)
    champion = registry.register(NAME, {"model.txt": model_bytes(0)}, {"worker": 0})
    registry.promote(NAME, champion.version, reason="champion", actor="pytest")
    files = {"model.txt": model_bytes(1), "model_card.md": b"card"}
    challenger = registry.register(NAME, files, {"worker": 1})
    key = f"models/{NAME}/versions/{challenger.version}/model.txt"
    registry.store.put(key, damage(model_bytes(1)))
    log = registry.events(NAME)

    with pytest.raises(CorruptModelError, match=rf"{challenger.tag}.*'model\.txt'"):
        registry.promote(NAME, challenger.version, reason="damaged", actor="pytest")
    assert registry.production(NAME).version == champion.version
    assert registry.events(NAME) == log


def test_replay_ignores_late_events_of_a_slow_promoter(tmp_path):
    # Interleavings the race tests can hit but not force: a promoter that stalls between its
    # two events, and a registration event logged after a quick promotion of that version.
    registry = ModelRegistry(LocalBlobStore(tmp_path))
    for worker in range(3):
        registry.register(NAME, {"model.txt": model_bytes(worker)}, {"worker": worker})
    registry.promote(NAME, 1, reason="champion", actor="pytest")
    stalled = registry._append_event(NAME, 2, "production", "slow promoter", "a")
    registry.promote(NAME, 1, reason="rollback meanwhile", actor="b")
    registry._append_event(NAME, 1, "archived", "late", "a", replaced_by_seq=stalled["seq"])
    registry._append_event(NAME, 1, "staging", "registered", "registry")
    assert registry.stages(NAME) == {1: "production", 2: "archived", 3: "staging"}


def test_a_registry_written_before_claims_still_loads_and_grows(tmp_path):
    store = LocalBlobStore(tmp_path)
    record = {"name": NAME, "version": 1, "created_at": "2025-01-01T00:00:00+00:00"}
    record |= {"checksums": {"model.txt": sha256(b"old")}, "metadata": {"worker": 0}}
    store.put(f"models/{NAME}/versions/1/model.txt", b"old")
    store.put(f"models/{NAME}/versions/1/version.json", json.dumps(record).encode())
    for seq, stage in [(1, "staging"), (2, "production")]:
        event = {"seq": seq, "at": record["created_at"], "version": 1, "stage": stage}
        event |= {"reason": "old", "actor": "old"}
        store.put(f"models/{NAME}/events/{seq:08d}.json", json.dumps(event).encode())
    registry = ModelRegistry(store)
    assert registry.production(NAME).version == 1
    new = registry.register(NAME, {"model.txt": b"new"}, {"worker": 1})
    registry.promote(NAME, new.version, reason="newer", actor="pytest")
    assert new.version == 2 and registry.stages(NAME) == {1: "archived", 2: "production"}
    assert [e["seq"] for e in registry.events(NAME)] == [1, 2, 3, 4, 5]
