"""Overload and SIGTERM figures of the BentoML service, against the same service without its
concurrency limit and without its drain (the anchors), in one run; medians of ``--runs``.

Needs a data folder with a production model and an online store (`make demo` makes one) and
wrk (`apt-get install -y wrk`) for the overload load:

    MLOPS_DATA_DIR=data python benchmarks/reliability.py --runs 3

Overload: wrk holds ``--connections`` connections on /predict while a prober, one request at a
time, measures /livez, /readyz, /metrics and an admitted /predict. SIGTERM: 16 clients post
/predict; the server gets SIGTERM after 2 s; a request sent before it and not answered, or
answered by a reset, is lost. Exits non-zero, printing no ratio, if a measured run failed.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import wrk_load  # noqa: E402
from mlops_assets.core.serving.readiness import start_bentoml_serve, wait_until_ready  # noqa: E402
from mlops_assets.dataset.serving import SERVING  # noqa: E402

EXAMPLE_REQUEST = SERVING.example  # one real request of the dataset's own

HEALTH = ("/livez", "/readyz", "/metrics")


def start(port: int, env: dict[str, str]) -> subprocess.Popen:
    process = start_bentoml_serve(ROOT / "bento", port, env=env)
    wait_until_ready(f"http://127.0.0.1:{port}/readyz", process)
    return process


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def overload(url: str, connections: int, seconds: float) -> dict:
    """wrk floods /predict; the prober measures health endpoints and admitted predictions."""
    probes: dict[str, list[float]] = {p: [] for p in (*HEALTH, "/predict")}
    codes: Counter = Counter()
    done, warm = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def probe():
        try:
            _probe()
        except BaseException as exc:  # reported by the main thread: a failed run prints no ratio
            failures.append(exc)

    def _probe():
        with httpx.Client(base_url=url, timeout=30) as client:
            for path in HEALTH:  # connection set up before the load starts
                client.get(path)
            warm.set()
            while not done.is_set():
                for path in HEALTH:
                    began = time.perf_counter()
                    if client.get(path).status_code != 200:
                        raise RuntimeError(f"{path} failed under load")
                    probes[path].append(time.perf_counter() - began)
                began = time.perf_counter()
                status = client.post("/predict", json=EXAMPLE_REQUEST).status_code
                codes[status] += 1
                if status == 200:
                    probes["/predict"].append(time.perf_counter() - began)
                time.sleep(0.05)

    prober = threading.Thread(target=probe)
    prober.start()
    warm.wait(timeout=30)
    try:
        flood = wrk_load.wrk(f"{url}/predict", EXAMPLE_REQUEST, connections, seconds)
    finally:
        done.set()
        prober.join()
    if failures:
        raise RuntimeError(f"prober failed under load: {failures[0]!r}") from failures[0]
    out = {f"{p} p99 ms": _ms(v, 0.99) for p, v in probes.items() if v}
    out["health max ms"] = max(max(probes[p]) for p in HEALTH) * 1000
    out["refused share"] = flood["errors"] / max(1, flood["req_s"] * seconds)
    out["req/s"] = flood["req_s"]
    out["probe 429 share"] = codes[429] / max(1, sum(codes.values()))
    return out


def sigterm_under_load(process: subprocess.Popen, url: str, clients: int = 16) -> dict:
    """Clients post /predict; SIGTERM after 2 s. Requests sent before it (in flight) and after
    it, by outcome: a status code, "refused" (never received: safe to retry elsewhere) or the
    name of the error that cut a sent request (lost)."""
    results: list[tuple[float, object]] = []
    halt = threading.Event()

    def client():
        with httpx.Client(base_url=url, timeout=30) as session:
            while not halt.is_set():
                sent = time.monotonic()
                try:
                    outcome = session.post("/predict", json=EXAMPLE_REQUEST).status_code
                except httpx.ConnectError:
                    outcome = "refused"
                    time.sleep(0.02)
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                results.append((sent, outcome))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        exit_code = process.wait(timeout=60)
    finally:
        exited = time.monotonic() - signalled
        halt.set()
        for thread in threads:
            thread.join()
    return {
        "in_flight": Counter(o for t, o in results if t < signalled),
        "after": Counter(o for t, o in results if t >= signalled),
        "exit_code": exit_code,
        "exit_s": exited,
    }


def sigterm(process: subprocess.Popen, url: str) -> dict:
    """The SIGTERM figures of one run."""
    run = sigterm_under_load(process, url)
    before, after = run["in_flight"], run["after"]
    if run["exit_code"] != 0:
        raise RuntimeError(f"the service exited with {run['exit_code']} after SIGTERM")
    return {
        "in flight at SIGTERM": sum(before.values()),
        "lost of those": sum(n for o, n in before.items() if o != 200),
        "sent after: served": after[200],
        "sent after: refused": after["refused"],
        "sent after: reset": sum(n for o, n in after.items() if o not in (200, "refused")),
        "exit s": run["exit_s"],
    }


def median_of(runs: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=200)
    args = parser.parse_args()
    if not wrk_load.available():
        print("wrk is not installed (apt-get install -y wrk): no figures", file=sys.stderr)
        return 1
    os.environ["MLOPS_DATA_DIR"] = str(Path(os.environ["MLOPS_DATA_DIR"]).resolve())
    variants = {
        "limit 32 + drain (default)": {},
        "no limit, no drain (anchor)": {"MLOPS_MAX_CONCURRENCY": "0", "MLOPS_DRAIN_SECONDS": "0"},
    }
    results: dict[str, dict[str, list[dict]]] = {}
    port = 3160
    for name, env in variants.items():
        for _ in range(args.runs):
            port += 1
            process = start(port, env)
            url = f"http://127.0.0.1:{port}"
            try:
                load = overload(url, args.connections, args.seconds)
                time.sleep(1)
                term = sigterm(process, url)
            finally:
                stop(process)
            results.setdefault(name, {}).setdefault("overload", []).append(load)
            results[name].setdefault("sigterm", []).append(term)
    for name, parts in results.items():
        print(f"\n{name} (median of {args.runs})")
        for part, runs in parts.items():
            for key, value in median_of(runs).items():
                print(f"  {part:8} {key:24} {value:10.3f}")
    limited = median_of(results["limit 32 + drain (default)"]["overload"])
    anchor = median_of(results["no limit, no drain (anchor)"]["overload"])
    print(
        f"\nadmitted /predict p99, limit / no limit: "
        f"{limited['/predict p99 ms'] / anchor['/predict p99 ms']:.2f}; "
        f"health max, limit / no limit: {limited['health max ms'] / anchor['health max ms']:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
