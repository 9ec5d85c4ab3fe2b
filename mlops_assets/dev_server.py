"""`mlops-dev`: `dagster dev` for this project, stopped within seconds by Ctrl-C.

    mlops-dev [--host 127.0.0.1] [--port 3000]

`dagster dev` alone waits for every run in flight before it exits (its code server does), so
Ctrl-C during a retrain left it running for minutes. Here Ctrl-C (or SIGTERM) cancels the runs
in flight through Dagster's run launcher (they end CANCELED, visible in the UI), interrupts
`dagster dev`, and kills whatever is left after 25 s. A run whose process died anyway is marked
failed by the daemon's run monitoring when `dagster dev` next starts.
"""

import argparse
import signal
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="loopback unless you mean it")
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    import dagster as dg

    from mlops_assets.demo.services import start_dagster_dev, stop_dagster

    process = start_dagster_dev(args.port, None, {}, host=args.host)
    print(f"dagster dev on http://{args.host}:{args.port}; Ctrl-C stops it", flush=True)
    try:
        while process.poll() is None:
            time.sleep(0.5)
        return process.returncode
    except KeyboardInterrupt:
        seconds = stop_dagster(process, dg.DagsterInstance.get())
        print(f"\ndagster dev stopped in {seconds:.1f} s", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
