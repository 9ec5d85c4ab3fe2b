"""The security checklist of docs/reliability.md, as tests: nothing unpickled, step outputs as
JSON, secrets only from the environment, loopback by default, a prediction log that can be
redacted or turned off."""

import json
import re
from pathlib import Path

import dagster as dg
import pytest

from mlops_assets.core.blob_store import LocalBlobStore
from mlops_assets.core.serving.prediction_log import REDACTED, PredictionLog
from mlops_assets.resources.json_io_manager import JsonIOManager
from tests.contract import EXAMPLE

REPO = Path(__file__).resolve().parent.parent
CODE = [
    p
    for folder in ("mlops_assets", "bento", "benchmarks", "hooks")
    for p in (REPO / folder).rglob("*.py")
]
# Each pattern loads or runs what a file says: code execution for whoever can write the file.
UNSAFE = {
    "pickle": re.compile(
        r"\b(c?pickle|cloudpickle|dill|joblib)\b\s*\.\s*loads?\b|import (c?pickle|dill|cloudpickle)"
    ),
    "torch.load without weights_only=True": re.compile(r"torch\.load\((?!.*weights_only=True)"),
    "yaml.load without a safe loader": re.compile(r"yaml\.load\((?!.*SafeLoader)"),
    "eval/exec": re.compile(r"(?<![\w.])(eval|exec)\("),
    "FilesystemIOManager (pickles outputs)": re.compile(r"FilesystemIOManager|fs_io_manager"),
}


def test_no_code_path_unpickles_or_evaluates_what_it_reads():
    assert len(CODE) > 40
    found = [
        f"{path.relative_to(REPO)}:{n}: {name}"
        for path in CODE
        for n, line in enumerate(path.read_text().splitlines(), 1)
        for name, pattern in UNSAFE.items()
        if pattern.search(line.split("#", 1)[0])
    ]
    assert found == []


def test_the_checklist_patterns_catch_what_they_name():
    assert UNSAFE["pickle"].search("obj = pickle.loads(data)")
    assert UNSAFE["torch.load without weights_only=True"].search("torch.load(buf)")
    assert not UNSAFE["torch.load without weights_only=True"].search(
        "torch.load(buf, weights_only=True)"
    )
    assert UNSAFE["eval/exec"].search("eval(text)") and not UNSAFE["eval/exec"].search("m.eval()")


def test_step_outputs_are_json_files_and_a_non_json_output_fails_naming_the_asset(tmp_path):
    from mlops_assets.definitions import defs

    assert isinstance(defs.resources["io_manager"], JsonIOManager)

    @dg.asset
    def reference() -> dict:
        return {"hash": "abc", "rows": 3, "auc": float("nan")}

    @dg.asset
    def consumer(reference: dict) -> dict:
        return {"seen": reference["hash"]}

    io = JsonIOManager(base_dir=str(tmp_path))
    assert dg.materialize([reference, consumer], resources={"io_manager": io}).success
    assert json.loads((tmp_path / "consumer.json").read_text()) == {"seen": "abc"}

    @dg.asset
    def opaque() -> object:
        return object()

    with pytest.raises(TypeError, match="opaque is not plain JSON data"):
        dg.materialize([opaque], resources={"io_manager": io})


def test_secrets_come_only_from_the_environment():
    """No credential in code or configuration: S3 goes through boto3's environment chain."""
    secret = re.compile(
        r"(aws_secret_access_key|aws_access_key_id|password|passwd|api_key|token)\s*[=:]\s*['\"]\w",
        re.IGNORECASE,
    )
    config = [p for p in (REPO / "config").rglob("*") if p.is_file()]
    files = [*CODE, *config, *(REPO / "dbt_project").glob("*.yml")]
    assert [str(p) for p in files if secret.search(p.read_text())] == []


def test_servers_bind_loopback_by_default():
    makefile = (REPO / "Makefile").read_text()
    for target in ("serve:", "dev:"):
        recipe = makefile.split(f"\n{target}", 1)[1].split("\n\n", 1)[0]
        assert "--host 127.0.0.1" in recipe, target


def test_the_prediction_log_redacts_named_inputs_or_is_off(tmp_path):
    hidden = list(EXAMPLE)[-1]  # any request field may be named (flights: tailnum)
    record = {"request_id": "r1", "entity_id": "e1", "request": dict(EXAMPLE)}
    log = PredictionLog(LocalBlobStore(tmp_path / "on"), "m", redact=hidden)
    log.write([record])
    log.flush()
    [line] = (tmp_path / "on" / "prediction_log" / "m").glob("*.jsonl")
    stored = json.loads(line.read_text())
    assert stored["request"] == {**EXAMPLE, hidden: REDACTED}
    assert stored["entity_id"] == record["entity_id"]  # feedback still joins

    off = PredictionLog(LocalBlobStore(tmp_path / "off"), "m", enabled=False)
    off.write([record])
    off.flush()
    assert not (tmp_path / "off").exists()


def test_the_pins_exclude_the_advisories_named_in_docs_reliability():
    """bentoml below 1.4.39 (Dockerfile injection) and whylogs' [viz] extra (Pillow < 11)."""
    import tomllib
    from importlib.metadata import distributions, version

    from packaging.requirements import Requirement
    from packaging.version import Version

    pins = {
        Requirement(r).name: Requirement(r)
        for r in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    assert not pins["bentoml"].specifier.contains("1.4.38")
    assert pins["bentoml"].specifier.contains(version("bentoml"))
    assert "viz" not in pins["whylogs"].extras
    installed = {d.metadata["Name"].lower() for d in distributions()}
    if "pillow" in installed:  # nothing the project installs needs it
        assert Version(version("pillow")) >= Version("11")
