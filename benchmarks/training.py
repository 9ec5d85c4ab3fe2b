"""LightGBM through the project's Dagster asset vs bare ``lightgbm.train`` on the same arrays.

Same training set, same params, same threads, same number of rounds (early stopping off so
both do identical work). The asset's time is the whole ``dagster.materialize`` call: loading
the stored training set, encoding, training, scoring valid and test, registering the version.

    DUCKDB_DATABASE=data/warehouse.duckdb python benchmarks/training.py --rounds 400 --repeats 3
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import lightgbm as lgb
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlops_assets.assets.training import (  # noqa: E402
    PROBLEM,
    lightgbm_candidate,
    training_set,
)
from mlops_assets.core.training.encoding import FeatureEncoder  # noqa: E402
from mlops_assets.core.training.lightgbm_trainer import DEFAULT_PARAMS  # noqa: E402
from mlops_assets.core.training.reproduce import load_training_set  # noqa: E402
from mlops_assets.resources.json_io_manager import JsonIOManager  # noqa: E402
from mlops_assets.resources.model_registry import ModelRegistryResource  # noqa: E402
from mlops_assets.resources.warehouse import warehouse_resource  # noqa: E402


def bare_train(frame: pl.DataFrame, rounds: int) -> float:
    """What a data scientist would write: encode, lgb.train, done. Returns seconds."""
    train = frame.filter(pl.col("split") == "train")
    valid = frame.filter(pl.col("split") == "valid")
    encoder = FeatureEncoder.fit(train, PROBLEM.categorical, PROBLEM.numeric)
    x_train, x_valid = encoder.transform(train), encoder.transform(valid)
    y_train = train.get_column(PROBLEM.label).cast(pl.Float64).to_numpy()
    y_valid = valid.get_column(PROBLEM.label).cast(pl.Float64).to_numpy()
    start = time.perf_counter()
    data = lgb.Dataset(x_train, label=y_train, categorical_feature=list(range(4)))
    lgb.train(
        {**DEFAULT_PARAMS, "metric": "auc"},
        data,
        num_boost_round=rounds,
        valid_sets=[lgb.Dataset(x_valid, label=y_valid, reference=data)],
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-training-"))
    resources = {
        "warehouse": warehouse_resource(),
        "model_registry": ModelRegistryResource(local_root=str(root / "registry")),
        "io_manager": JsonIOManager(base_dir=str(root / "io")),
    }
    instance = dg.DagsterInstance.ephemeral()
    assets = [training_set, lightgbm_candidate]
    rounds = {"num_boost_round": args.rounds, "early_stopping_rounds": args.rounds}
    config = dg.RunConfig(ops={"lightgbm_candidate": {"config": rounds}})
    assert dg.materialize(
        assets, selection=[training_set], resources=resources, instance=instance
    ).success
    registry = resources["model_registry"].registry()
    digest = (
        instance.get_latest_materialization_event(dg.AssetKey("training_set"))
        .asset_materialization.metadata["training_set_hash"]
        .value
    )
    frame = load_training_set(registry, digest)

    bare, asset = [], []
    for _ in range(args.repeats):
        bare.append(bare_train(frame, args.rounds))
        start = time.perf_counter()
        assert dg.materialize(
            assets,
            selection=[lightgbm_candidate],
            resources=resources,
            instance=instance,
            run_config=config,
        ).success
        asset.append(time.perf_counter() - start)
    rows = frame.filter(pl.col("split") == "train").height
    b, a = statistics.median(bare), statistics.median(asset)
    print(
        f"train rows {rows:,}, features {len(PROBLEM.categorical + PROBLEM.numeric)}, "
        f"rounds {args.rounds}, threads {DEFAULT_PARAMS['num_threads']}, repeats {args.repeats}"
    )
    print(f"bare lightgbm.train     median {b:7.2f} s   runs {[round(x, 2) for x in bare]}")
    print(f"Dagster asset (full)    median {a:7.2f} s   runs {[round(x, 2) for x in asset]}")
    verdict = "PASS" if a / b <= 1.10 else "MISS"
    print(f"ratio asset/bare        {a / b:.3f}  (goal <= 1.10: {verdict})")


if __name__ == "__main__":
    main()
