"""Stage a self-contained Bento build context for one production model version.

The context holds the service, the framework-free core it imports, the production version's
files with their recorded checksums, and the current online store, so the built Bento serves
exactly the promoted model with no access to the registry or the warehouse.
"""

import json
import shutil
from pathlib import Path

from mlops_assets.core.registry.registry import ModelRegistry, ModelVersion

PACKAGE_DIRS = ("core", "dataset")


def stage_build_context(
    target: Path,
    bento_dir: Path,
    package_dir: Path,
    registry: ModelRegistry,
    version: ModelVersion,
    online_store_file: Path,
) -> Path:
    """Write the build context under ``target`` (replacing it) and return it."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copy(bento_dir / "service.py", target / "service.py")
    package = target / "mlops_assets"
    package.mkdir()
    shutil.copy(package_dir / "__init__.py", package / "__init__.py")
    for name in PACKAGE_DIRS:
        shutil.copytree(
            package_dir / name, package / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    versions = target / "data" / "registry" / "models" / version.name / "versions"
    folder = versions / str(version.version)
    folder.mkdir(parents=True)
    for filename in version.checksums:
        (folder / filename).write_bytes(registry.read_file(version, filename))
    record = {
        "name": version.name,
        "version": version.version,
        "created_at": version.created_at,
        "checksums": version.checksums,
        "metadata": version.metadata,
    }
    (folder / "version.json").write_text(json.dumps(record, indent=2, default=str))
    events = target / "data" / "registry" / "models" / version.name / "events"
    events.mkdir(parents=True)
    (events / "00000001.json").write_text(
        json.dumps(
            {
                "seq": 1,
                "at": version.created_at,
                "version": version.version,
                "stage": "production",
                "reason": "bundled into this Bento",
                "actor": "deployment",
            }
        )
    )
    store = target / "data" / "online_store"
    store.mkdir(parents=True)
    shutil.copy(online_store_file, store / online_store_file.name)
    (store / "CURRENT").write_text(online_store_file.name)
    bentofile = (bento_dir / "bentofile.yaml").read_text()
    (target / "bentofile.yaml").write_text(bentofile)
    return target
