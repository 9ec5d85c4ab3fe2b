"""Serving latency and throughput: the BentoML service vs in-process predict and a bare
Starlette endpoint running the same lookup + predict code.

Needs a data folder with a production model and an online store (`make demo` makes one):

    MLOPS_DATA_DIR=data python benchmarks/serving.py --seconds 5 --connections 16

(a relative MLOPS_DATA_DIR is resolved here, before the servers start in their own folders)

The load generator is Python (httpx, asyncio) on the same 2-core machine as the server, so
absolute HTTP figures include client cost; the ratios compare like with like.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import wrk_load  # noqa: E402
from mlops_assets.core.serving.readiness import wait_until_ready  # noqa: E402
from mlops_assets.dataset.problem import MODEL_NAME  # noqa: E402
from mlops_assets.dataset.serving import SERVING  # noqa: E402

REQUEST = SERVING.example  # one real request of the dataset's own


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return (ordered[len(ordered) // 2] * 1000, ordered[int(len(ordered) * 0.99)] * 1000)


def in_process(n: int) -> dict:
    """Lookup + predict in this process, no HTTP."""
    from mlops_assets.core.blob_store import LocalBlobStore
    from mlops_assets.core.features.online_features import OnlineFeatures, serving_contract
    from mlops_assets.core.registry.registry import ModelRegistry
    from mlops_assets.core.serving.predictor import load_predictor

    data = Path(os.environ["MLOPS_DATA_DIR"])
    registry = ModelRegistry(LocalBlobStore(data / "registry"))
    predictor = load_predictor(registry, registry.production(MODEL_NAME))
    features = OnlineFeatures.open(data / "online_store")
    request = serving_contract().parse(REQUEST)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        predictor.predict_rows(features.rows([request]))
        times.append(time.perf_counter() - start)
    p50, p99 = percentiles(times[n // 10 :])
    out = {"p50_ms": p50, "p99_ms": p99, "req_s": 1 / statistics.mean(times)}
    # the many-row path as the service takes it: column-wise from 16 rows up
    many = getattr(features, "frame", None)
    for size in (100, 1000):
        start = time.perf_counter()
        for _ in range(5):
            if many is None:  # a store without the column-wise path (older checkouts)
                predictor.predict_rows(features.rows([request] * size))
            else:
                predictor.predict_frame(many([request] * size))
        out[f"rows_s_batch{size}"] = 5 * size / (time.perf_counter() - start)
    return out


async def _load(url: str, path: str, body: dict, connections: int, seconds: float):
    latencies, errors = [], 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        deadline = time.perf_counter() + seconds

        async def worker():
            nonlocal errors
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = await client.post(path, json=body)
                latencies.append(time.perf_counter() - start)
                errors += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return latencies, errors, elapsed


def over_http(url: str, seconds: float, connections: int, batches: bool = True) -> dict:
    if wrk_load.available():
        single = wrk_load.wrk(f"{url}/predict", REQUEST, 1, seconds)
        many = wrk_load.wrk(f"{url}/predict", REQUEST, connections, seconds)
        out = {**{k: single[k] for k in ("p50_ms", "p99_ms")}, "req_s": many["req_s"]}
        out["errors"] = single["errors"] + many["errors"]
        for size in (100, 1000):
            body = {SERVING.plural: [REQUEST] * size}
            out[f"rows_s_batch{size}"] = (
                wrk_load.wrk(f"{url}/predict_many", body, 2, seconds)["req_s"] * size
                if batches
                else float("nan")
            )
        return out
    single, _, _ = asyncio.run(_load(url, "/predict", REQUEST, 1, seconds))
    p50, p99 = percentiles(single)
    many, errors, elapsed = asyncio.run(_load(url, "/predict", REQUEST, connections, seconds))
    out = {"p50_ms": p50, "p99_ms": p99, "req_s": len(many) / elapsed, "errors": errors}
    for size in (100, 1000):
        if not batches:
            out[f"rows_s_batch{size}"] = float("nan")
            continue
        batch, _, took = asyncio.run(
            _load(url, "/predict_many", {SERVING.plural: [REQUEST] * size}, 2, seconds)
        )
        out[f"rows_s_batch{size}"] = len(batch) * size / took
    return out


def serve(command: list[str], port: int, ready_path: str, env: dict) -> subprocess.Popen:
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "BENTOML_DO_NOT_TRACK": "true", **env},
    )
    wait_until_ready(f"http://127.0.0.1:{port}{ready_path}", process)
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    # The servers run in their own working directories: hand them an absolute data folder.
    os.environ["MLOPS_DATA_DIR"] = str(Path(os.environ["MLOPS_DATA_DIR"]).resolve())
    bin_dir = Path(sys.executable).parent
    results = {"in-process": in_process(2000)}

    def bento_on(
        port: int, service: str = "service:PredictionService", folder="bento"
    ) -> list[str]:
        return [
            str(bin_dir / "bentoml"),
            "serve",
            service,
            "--working-dir",
            folder,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]

    servers = {
        "bare Starlette": (
            [
                str(bin_dir / "uvicorn"),
                "benchmarks.bare_endpoint:app",
                "--host",
                "127.0.0.1",
                "--port",
                "3101",
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            3101,
            "/openapi.json",
            {},
        ),
        "BentoML service": (bento_on(3102), 3102, "/readyz", {}),
        # the same service without whylogs profiling, to measure what monitoring costs
        "BentoML, no whylogs": (bento_on(3103), 3103, "/readyz", {"MLOPS_PROFILING": "off"}),
        # every BentoML default on, doing nothing: the cost of the stack alone
        "default BentoML, no-op": (
            bento_on(3104, "service:DoNothing", "benchmarks/default_bento"),
            3104,
            "/readyz",
            {},
        ),
    }
    for name, (command, port, ready, env) in servers.items():
        if name == "bare Starlette":
            ready = "/predict"  # no GET route: any answer means it is up
        process = serve(command, port, ready, env) if name != "bare Starlette" else None
        if process is None:
            process = subprocess.Popen(
                command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        try:
            _wait_any(f"http://127.0.0.1:{port}/predict", process)
            results[name] = over_http(
                f"http://127.0.0.1:{port}", args.seconds, args.connections, "no-op" not in name
            )
        finally:
            process.terminate()
            process.wait(timeout=30)

    print(
        f"{'':18} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9} {'rows/s b100':>12} {'rows/s b1000':>13}"
    )
    for name, r in results.items():
        print(
            f"{name:18} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['req_s']:9.0f} "
            f"{r['rows_s_batch100']:12.0f} {r['rows_s_batch1000']:13.0f}"
        )
    bento, bare = results["BentoML service"], results["bare Starlette"]
    print(
        f"BentoML / bare throughput ({args.connections} connections): "
        f"{bento['req_s'] / bare['req_s']:.2f}   p50 BentoML / bare: "
        f"{bento['p50_ms'] / bare['p50_ms']:.2f}   non-200 answers: "
        f"{bento['errors']} BentoML, {bare['errors']} bare"
    )
    default = results["default BentoML, no-op"]
    print(
        f"BentoML service / default no-op BentoML throughput: "
        f"{bento['req_s'] / default['req_s']:.2f}   load generator: "
        f"{'wrk' if wrk_load.available() else 'httpx (install wrk for lower client cost)'}"
    )
    off = results["BentoML, no whylogs"]
    print(
        f"whylogs profiling overhead: p50 {bento['p50_ms'] / off['p50_ms'] - 1:+.1%}, "
        f"throughput {bento['req_s'] / off['req_s'] - 1:+.1%}, "
        f"batch1000 rows/s {bento['rows_s_batch1000'] / off['rows_s_batch1000'] - 1:+.1%}"
    )


def _wait_any(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            if process.poll() is not None:
                raise RuntimeError("bare endpoint exited") from None
            time.sleep(0.3)
    raise TimeoutError(url)


if __name__ == "__main__":
    main()
