"""Command line for the model registry: list versions, read the stage log, show lineage,
and roll production back to any earlier version in one command.

    mlops-registry list
    mlops-registry reproduce 3
    mlops-registry rollback 3 --reason "v4 mispredicts holiday traffic"
"""

import argparse
import json
import sys

from mlops_assets import settings  # noqa: F401  (data-folder defaults)
from mlops_assets.core.registry.registry import RegistryError
from mlops_assets.core.training.reproduce import reproduce
from mlops_assets.core.training.tasks import current_task
from mlops_assets.dataset.problem import LABEL
from mlops_assets.resources.model_registry import ModelRegistryResource


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mlops-registry", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model name (default: MODEL_NAME)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="versions with stage and the test month's gate metric")
    commands.add_parser("log", help="every stage change, oldest first")
    show = commands.add_parser("lineage", help="what produced a version")
    show.add_argument("version", type=int)
    again = commands.add_parser("reproduce", help="re-run a version's training, compare metrics")
    again.add_argument("version", type=int)
    back = commands.add_parser("rollback", help="put an earlier version back into production")
    back.add_argument("version", type=int)
    back.add_argument("--reason", required=True)
    args = parser.parse_args(argv)

    resource = ModelRegistryResource(**({"model_name": args.model} if args.model else {}))
    registry, name = resource.registry(), resource.model_name
    try:
        if args.command == "list":
            stages = registry.stages(name)
            for v in registry.versions(name):
                metric = current_task(v.metadata).gate_metric
                score = v.metadata["metrics"]["test"][metric]
                print(
                    f"v{v.version}\t{stages.get(v.version, '-')}\t{v.metadata['framework']}\t"
                    f"test_{metric}={score:.4f}\t{v.created_at}"
                )
        elif args.command == "log":
            for event in registry.events(name):
                print(json.dumps(event))
        elif args.command == "lineage":
            print(json.dumps(registry.get(name, args.version).metadata["lineage"], indent=2))
        elif args.command == "reproduce":
            result = reproduce(registry, registry.get(name, args.version), LABEL)
            print(json.dumps(result, indent=2))
        elif args.command == "rollback":
            registry.rollback(name, args.version, args.reason)
            print(f"production is now {name}:v{args.version}")
    except RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
