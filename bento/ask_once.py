"""Start the service on 127.0.0.1, ask it for one real prediction, print it, stop it.

The last step of `make demo`: proof that the promoted model answers over HTTP.
    python bento/ask_once.py [--port 3000]
"""

import argparse
import json
import sys
from pathlib import Path

import httpx

from mlops_assets.core.features.online_features import serving_contract
from mlops_assets.core.serving.readiness import start_bentoml_serve, wait_until_ready

HERE = Path(__file__).resolve().parent
EXAMPLE = serving_contract().example


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args()
    url = f"http://127.0.0.1:{args.port}"
    server = start_bentoml_serve(HERE, args.port)
    try:
        try:
            wait_until_ready(f"{url}/readyz", server)
        except (RuntimeError, TimeoutError) as exc:
            print(f"the service did not become ready: {exc}", file=sys.stderr)
            return 1
        response = httpx.post(f"{url}/predict", json=EXAMPLE, timeout=30)
        print(f"POST {url}/predict {json.dumps(EXAMPLE)}")
        print(f"-> {response.status_code} {response.text}")
        return 0 if response.status_code == 200 else 1
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
