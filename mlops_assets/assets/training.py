"""Training: a time-split training set and candidate models, each registered as a version.

Data moves between these assets by reference (a content-addressed Parquet file in the registry
store, a model version number), so re-running a step never copies large frames through Dagster.
"""

import io

import dagster as dg
import polars as pl

from mlops_assets.assets.features import FEATURE_MART
from mlops_assets.assets.run_guard import refuse_if_run_ended
from mlops_assets.core.code_version import code_version
from mlops_assets.core.registry.model_card import render_model_card
from mlops_assets.core.registry.registry import sha256
from mlops_assets.core.training import provenance
from mlops_assets.core.training.candidates import Candidate, Problem, fit_lightgbm
from mlops_assets.core.training.data_size import data_size
from mlops_assets.core.training.fingerprint import frame_fingerprint
from mlops_assets.core.training.reproduce import load_training_set, training_set_key
from mlops_assets.core.training.tasks import current_task
from mlops_assets.core.training.training_data import (
    SplitSpec,
    load_split,
    split_query,
    validate_split,
)
from mlops_assets.dataset import problem as problem_contract
from mlops_assets.resources.dbt import dbt_project
from mlops_assets.resources.model_registry import ModelRegistryResource
from mlops_assets.resources.warehouse import WAREHOUSE_POOL, WarehouseResource
from mlops_assets.settings import PROJECT_ROOT

TRAINING_GROUP = "training"
# A candidate's behaviour is this module and the training code it calls; when that changes, the
# candidates are stale and declarative automation retrains them once, on the latest training
# set (evaluation, the gate and the Bento follow: they are eager).
CANDIDATE_CODE_VERSION = code_version(__name__, *provenance.TRAINING_CODE)
RETRAIN_ON_CODE_CHANGE = (
    dg.AutomationCondition.code_version_changed().since_last_handled()
    & ~dg.AutomationCondition.any_deps_missing()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("its training code changed")
PROBLEM = Problem(
    categorical=problem_contract.CATEGORICAL_FEATURES,
    numeric=problem_contract.NUMERIC_FEATURES,
    label=problem_contract.LABEL,
    task=problem_contract.TASK_TYPE,
)
TASK = current_task()
_SUMMARY = {"binary": "rate", "regression": "mean"}


class TrainingSetConfig(dg.Config):
    """Train on ``train_months`` months, validate on the next, test on ``test_month``."""

    test_month: str = problem_contract.DEFAULT_TEST_MONTH
    train_months: int = 6
    min_rows_per_split: int = data_size("min_rows_per_split")


def training_set_query(spec: SplitSpec) -> str:
    columns = [
        problem_contract.ENTITY_KEY,
        problem_contract.EVENT_DATE,
        *problem_contract.SLICE_COLUMNS,
        *problem_contract.BASELINE_COLUMNS,
        *dict.fromkeys(problem_contract.FEATURES),
        problem_contract.LABEL,
    ]
    return split_query(
        spec,
        problem_contract.FEATURE_TABLE,
        list(dict.fromkeys(columns)),
        problem_contract.EVENT_DATE,
        [problem_contract.EVENT_TIME, problem_contract.ENTITY_KEY],
    )


@dg.asset(
    group_name=TRAINING_GROUP,
    deps=[FEATURE_MART],
    pool=WAREHOUSE_POOL,
    kinds={"duckdb", "parquet"},
    code_version=code_version(
        __name__,
        "mlops_assets.core.training.training_data",
        "mlops_assets.core.training.fingerprint",
        "mlops_assets.core.training.tasks",
    ),
)
def training_set(
    context: dg.AssetExecutionContext,
    config: TrainingSetConfig,
    warehouse: WarehouseResource,
    model_registry: ModelRegistryResource,
) -> dg.MaterializeResult:
    """The exact rows a model learns from, stored once under the hash of their content."""
    spec = SplitSpec(**config.model_dump())
    query = training_set_query(spec)
    with warehouse.get_connection() as conn:
        frame = load_split(conn, query)
    TASK.check_labels(frame.get_column(PROBLEM.label))  # a label that does not fit TASK_TYPE
    validate_split(frame, PROBLEM.label, spec, TASK.kind)
    digest = frame_fingerprint(frame)
    store = model_registry.registry().store
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    if not store.exists(training_set_key(digest)):
        store.put(training_set_key(digest), buffer.getvalue())
    file_sha256 = sha256(store.get(training_set_key(digest)))
    upstream = context.instance.get_latest_materialization_event(FEATURE_MART)
    # binary: the positive rate; regression: the mean; multiclass: the number of classes
    summary = (
        pl.col(PROBLEM.label).n_unique().alias("label_classes")
        if TASK.kind == "multiclass"
        else pl.col(PROBLEM.label).cast(pl.Float64).mean().alias(f"label_{_SUMMARY[TASK.kind]}")
    )
    counts = frame.group_by("split").agg(pl.len().alias("rows"), summary).sort("split")
    summary_name = summary.meta.output_name()
    schema = "\n".join(
        f"| {c} | {frame.schema[c]} | {'categorical' if c in PROBLEM.categorical else 'numeric'} |"
        for c in (*PROBLEM.categorical, *PROBLEM.numeric)
    )
    ref = {
        "hash": digest,
        "file_sha256": file_sha256,
        "query": query,
        "spec": spec.as_dict(),
        "rows": frame.height,
        "feature_run_id": upstream.run_id if upstream else None,
        "dbt_models": provenance.dbt_model_checksums(
            dbt_project.manifest_path, problem_contract.FEATURE_TABLE.split(".")[-1]
        ),
    }
    return dg.MaterializeResult(
        value=ref,
        data_version=dg.DataVersion(digest),
        metadata={
            "dagster/row_count": frame.height,
            "training_set_hash": digest,
            **{f"rows_{r['split']}": r["rows"] for r in counts.to_dicts()},
            **{f"{summary_name}_{r['split']}": r[summary_name] for r in counts.to_dicts()},
            "task_type": TASK.kind,
            "features": dg.MetadataValue.md(
                "| feature | type | kind |\n| --- | --- | --- |\n" + schema
            ),
            "query": dg.MetadataValue.md(f"```sql\n{query}\n```"),
            "split": dg.MetadataValue.json(
                {k: [str(lo), str(hi)] for k, (lo, hi) in spec.bounds().items()}
            ),
        },
    )


def load_training_frame(model_registry: ModelRegistryResource, ref: dict) -> pl.DataFrame:
    return load_training_set(model_registry.registry(), ref["hash"], ref.get("file_sha256"))


def _register(context, model_registry: ModelRegistryResource, ref: dict, candidate: Candidate):
    """Register a candidate with its lineage and model card; report it as asset metadata."""
    refuse_if_run_ended(context, "registering a candidate")
    registry = model_registry.registry()
    lineage = {
        "training_set_hash": ref["hash"],
        "training_set_file_sha256": ref.get("file_sha256"),
        "training_set_query": ref["query"],
        "split": ref["spec"],
        "dbt_models": ref["dbt_models"],
        "feature_run_id": ref["feature_run_id"],
        "training_code_version": provenance.training_code_version(),
        "git_commit": provenance.git_commit(PROJECT_ROOT),
        "dagster_run_id": context.run.run_id,
    }
    metadata = {
        **candidate.metadata,
        "lineage": lineage,
        "features": list(PROBLEM.categorical + PROBLEM.numeric),
    }
    card = render_model_card(model_registry.model_name, metadata)
    version = registry.register(
        model_registry.model_name, {**candidate.files, "model_card.md": card.encode()}, metadata
    )
    test, valid = metadata["metrics"]["test"], metadata["metrics"]["valid"]
    task = current_task(metadata)
    return dg.Output(
        {
            "version": version.version,
            "framework": metadata["framework"],
            "training_set_hash": ref["hash"],
        },
        metadata={
            "model_version": version.version,
            "task_type": task.kind,
            "gate_metric": task.gate_metric,
            f"valid_{task.gate_metric}": valid[task.gate_metric],
            **{f"test_{name}": test[name] for _, name, fmt in task.report_columns if fmt != ","},
            "train_seconds": metadata["train_seconds"],
            "device": metadata["device"],
            "params": dg.MetadataValue.json(metadata["params"]),
            "model_card": dg.MetadataValue.md(card),
        },
    )


class LightGBMConfig(dg.Config):
    learning_rate: float = 0.05
    num_leaves: int = data_size("num_leaves")
    min_data_in_leaf: int = data_size("min_data_in_leaf")
    num_boost_round: int = 2000
    early_stopping_rounds: int = 50
    seed: int = 42


@dg.asset(
    group_name=TRAINING_GROUP,
    kinds={"lightgbm"},
    code_version=CANDIDATE_CODE_VERSION,
    automation_condition=RETRAIN_ON_CODE_CHANGE,
)
def lightgbm_candidate(
    context: dg.AssetExecutionContext,
    config: LightGBMConfig,
    training_set: dict,
    model_registry: ModelRegistryResource,
) -> dg.Output[dict]:
    """Gradient-boosted trees on the CPU; categoricals natively, early stopping on validation."""
    params = {
        "learning_rate": config.learning_rate,
        "num_leaves": config.num_leaves,
        "min_data_in_leaf": config.min_data_in_leaf,
        "seed": config.seed,
    }
    rounds = {
        "num_boost_round": config.num_boost_round,
        "early_stopping_rounds": config.early_stopping_rounds,
    }
    frame = load_training_frame(model_registry, training_set)
    return _register(
        context, model_registry, training_set, fit_lightgbm(frame, PROBLEM, params, rounds)
    )


# >>> pytorch
class TorchConfig(dg.Config):
    max_epochs: int = 12
    batch_size: int = 4096
    lr: float = 2e-3
    seed: int = 42


@dg.asset(
    group_name=TRAINING_GROUP,
    kinds={"pytorch"},
    code_version=CANDIDATE_CODE_VERSION,
    automation_condition=RETRAIN_ON_CODE_CHANGE,
)
def torch_candidate(
    context: dg.AssetExecutionContext,
    config: TorchConfig,
    training_set: dict,
    model_registry: ModelRegistryResource,
) -> dg.Output[dict]:
    """Embeddings + MLP; CUDA with bf16 when a GPU is present, else the CPU."""
    from mlops_assets.core.training.candidates import fit_torch

    frame = load_training_frame(model_registry, training_set)
    return _register(
        context, model_registry, training_set, fit_torch(frame, PROBLEM, config.model_dump())
    )


# <<< pytorch
# Every candidate is evaluated on the same test month; the best one may be promoted.
# A candidate asset is named ``<framework>_candidate``.
CANDIDATES = (lightgbm_candidate,)
# >>> pytorch
CANDIDATES += (torch_candidate,)
# <<< pytorch
FRAMEWORKS = tuple(asset.key.path[-1].removesuffix("_candidate") for asset in CANDIDATES)
