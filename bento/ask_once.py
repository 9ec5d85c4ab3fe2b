"""Start the service on 127.0.0.1, ask it for one real prediction, print it, stop it.

The last step of `make demo`: proof that the promoted model answers over HTTP.
    python bento/ask_once.py [--port 3000]
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
FLIGHT = {
    "carrier": "UA",
    "flight_number": 1545,
    "origin": "EWR",
    "dest": "IAH",
    "scheduled_departure": "2013-12-20T17:30:00",
    "tailnum": "N14228",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args()
    url = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "bentoml"),
            "serve",
            "service:FlightDelay",
            "--working-dir",
            str(HERE),
            "--host",
            "127.0.0.1",
            "--port",
            str(args.port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                print("the service did not become ready", file=sys.stderr)
                return 1
            time.sleep(0.5)
        response = httpx.post(f"{url}/predict", json=FLIGHT, timeout=30)
        print(f"POST {url}/predict {json.dumps(FLIGHT)}")
        print(f"-> {response.status_code} {response.text}")
        return 0 if response.status_code == 200 else 1
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
