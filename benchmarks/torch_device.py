"""PyTorch tabular model on GPU vs CPU: samples/s and time to best validation AUC.

Runs the project's own trainer (mlops_assets/core/training/torch_trainer.py) on arrays
exported from a real training set, so the device machine needs only torch, numpy and scipy:

    python benchmarks/torch_device.py export --out bench_arrays/flights.npz   # here, once
    python benchmarks/torch_device.py run --arrays bench_arrays/flights.npz   # on each device
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def export(out: Path, test_month: str, train_months: int) -> None:
    """Encode a real training set exactly as the torch candidate does, and save the arrays."""
    import duckdb
    import polars as pl

    from mlops_assets.assets.training import PROBLEM, training_set_query
    from mlops_assets.core.training.encoding import FeatureEncoder
    from mlops_assets.core.training.torch_trainer import NumericScaler, split_matrix
    from mlops_assets.core.training.training_data import SplitSpec, load_split
    from mlops_assets.settings import DUCKDB_DATABASE

    spec = SplitSpec(test_month=test_month, train_months=train_months)
    with duckdb.connect(DUCKDB_DATABASE, read_only=True) as conn:
        frame = load_split(conn, training_set_query(spec))
    train = frame.filter(pl.col("split") == "train")
    encoder = FeatureEncoder.fit(train, PROBLEM.categorical, PROBLEM.numeric)
    n_cat = len(PROBLEM.categorical)
    scaler = NumericScaler.fit(encoder.transform(train)[:, n_cat:])
    arrays = {}
    for split in ("train", "valid"):
        part = frame.filter(pl.col("split") == split)
        cat, num = split_matrix(encoder.transform(part), n_cat, scaler)
        arrays[f"{split}_cat"], arrays[f"{split}_num"] = cat.astype(np.int16), num
        arrays[f"{split}_y"] = part.get_column(PROBLEM.label).cast(pl.Float32).to_numpy()
    arrays["cardinalities"] = np.array([len(encoder.vocabularies[c]) for c in PROBLEM.categorical])
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {len(arrays['train_y'])} train rows)")


def run(arrays_path: Path, devices: list[str], epochs: int) -> list[dict]:
    import torch

    from mlops_assets.core.training.torch_trainer import train_torch

    data = np.load(arrays_path)
    train = (data["train_cat"].astype(np.int64), data["train_num"], data["train_y"])
    valid = (data["valid_cat"].astype(np.int64), data["valid_num"], data["valid_y"])
    results = []
    for name in devices:
        if name == "cuda" and not torch.cuda.is_available():
            print("cuda: not available, skipped")
            continue
        params = {"max_epochs": epochs, "patience": epochs}
        result = train_torch(
            train, valid, data["cardinalities"].tolist(), params, torch.device(name)
        )
        row = {
            "device": name,
            "threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name() if name == "cuda" else "",
            "train_rows": len(train[2]),
            "epochs": epochs,
            "samples_per_s": round(result.samples_per_second),
            "best_valid_auc": round(result.best_valid_auc, 4),
            "best_epoch": result.best_epoch,
            "seconds_to_best": round(result.seconds_to_best, 2),
            "seconds_total": round(result.seconds, 2),
        }
        print(json.dumps(row))
        results.append(row)
    if len(results) == 2:
        cpu, gpu = results
        print(
            f"ratio gpu/cpu samples/s: {gpu['samples_per_s'] / cpu['samples_per_s']:.1f}x; "
            f"time to best AUC cpu/gpu: {cpu['seconds_to_best'] / gpu['seconds_to_best']:.1f}x"
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export")
    ex.add_argument("--out", type=Path, default=Path("bench_arrays/flights.npz"))
    ex.add_argument("--test-month", default="2013-12")
    ex.add_argument("--train-months", type=int, default=6)
    rn = sub.add_parser("run")
    rn.add_argument("--arrays", type=Path, default=Path("bench_arrays/flights.npz"))
    rn.add_argument("--devices", default="cpu,cuda")
    rn.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args()
    if args.command == "export":
        export(args.out, args.test_month, args.train_months)
    else:
        run(args.arrays, args.devices.split(","), args.epochs)


if __name__ == "__main__":
    main()
