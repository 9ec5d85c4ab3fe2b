"""Code versions recorded with every model: git commit, training code hash, dbt model checksums."""

import json
import subprocess
from pathlib import Path

from mlops_assets.core.code_version import code_version

TRAINING_CODE = tuple(
    f"mlops_assets.core.training.{name}"
    for name in (
        "training_data",
        "encoding",
        "candidates",
        "lightgbm_trainer",
        # >>> pytorch
        "torch_trainer",
        # <<< pytorch
        "metrics",
        "tasks",
        "fingerprint",
    )
)


def git_commit(repo: Path) -> str:
    """The checked-out commit, '+dirty' if tracked files changed; 'unknown' outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def training_code_version() -> str:
    """A hash of the framework-free training code: changes when any of it changes (the
    candidates' Dagster code version, and a field of every model version's lineage)."""
    return code_version(*TRAINING_CODE)


def dbt_model_checksums(manifest_path: Path, model: str) -> dict[str, str]:
    """The checksum of ``model`` and every dbt node upstream of it, by name."""
    manifest = json.loads(manifest_path.read_text())
    nodes = manifest["nodes"]
    by_name = {
        n["name"]: uid for uid, n in nodes.items() if n["resource_type"] in ("model", "seed")
    }
    out, frontier = {}, [by_name[model]]
    while frontier:
        uid = frontier.pop()
        node = nodes.get(uid)
        if node is None or node["name"] in out:
            continue
        out[node["name"]] = node["checksum"]["checksum"][:16]
        frontier += [d for d in node.get("depends_on", {}).get("nodes", []) if d in nodes]
    return dict(sorted(out.items()))
