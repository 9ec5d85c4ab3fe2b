"""`mlops-stack`: the scale-out stack on 127.0.0.1, up and down.

    mlops-stack up [--folder data/stack] [--data-dir data/stack-data] [--workers 2]
    mlops-stack env [--folder data/stack]                 # `export ...` lines for a shell
    mlops-stack down [--folder data/stack]

`up` starts PostgreSQL, Redis, moto's S3 server and the Celery workers, writes the instance's
dagster.yaml (PostgreSQL storage, then config/dagster.yaml) into the stack's DAGSTER_HOME and
prints the environment that moves `dagster dev`, `dagster job execute`, the demo and
`bentoml serve` onto the stack: configuration only, the asset code is the same.
"""

import argparse
import shlex
import sys
from pathlib import Path

from mlops_assets.settings import DATA_DIR, PROJECT_ROOT
from mlops_assets.stack import services


def up(folder: Path, data_dir: Path, workers: int) -> services.Stack:
    missing = services.missing_programs()
    if missing:
        raise SystemExit(
            f"mlops-stack: not installed: {', '.join(missing)}; as root run "
            f"`apt-get install -y {' '.join(missing)}` (or `make stack`, which does)"
        )
    if services.load(folder):
        raise SystemExit(f"mlops-stack: already up in {folder} (`mlops-stack down` first)")
    stack = services.Stack(
        folder=str(folder),
        data_dir=str(data_dir),
        postgres_port=services.free_port(),
        redis_port=services.free_port(),
        s3_port=services.free_port(),
        workers=workers,
    )
    env = stack.env()
    home = Path(env["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    storage = (PROJECT_ROOT / "config" / "stack" / "storage.yaml").read_text()
    (home / "dagster.yaml").write_text(
        storage + "\n" + (PROJECT_ROOT / "config" / "dagster.yaml").read_text()
    )
    pids: dict[str, int] = {}
    try:
        services.start_postgres(folder / "postgres", stack.postgres_port)
        pids["redis"] = services.start_redis(folder / "redis", stack.redis_port)
        pids["s3"] = services.start_s3(folder, stack.s3_port, env)
        for i in range(1, workers + 1):
            pids[f"worker{i}"] = services.start_worker(folder, f"worker{i}", env, PROJECT_ROOT)
    finally:
        services.save(stack, pids)
    return stack


def exports(stack: services.Stack) -> str:
    return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in stack.env().items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "env", "down"])
    parser.add_argument("--folder", type=Path, default=DATA_DIR / "stack")
    parser.add_argument(
        "--data-dir", type=Path, default=DATA_DIR / "stack-data", help="MLOPS_DATA_DIR on the stack"
    )
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    if args.command == "up":
        print(exports(up(folder, args.data_dir.resolve(), args.workers)))
    elif args.command == "env":
        state = services.load(folder)
        if not state:
            print(f"mlops-stack: not up in {folder}", file=sys.stderr)
            return 1
        print(exports(state[0]))
    else:
        services.stop_all(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
