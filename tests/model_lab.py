"""A shared set-up for tests that need trained models: one registry folder, one Dagster
instance and one IO-manager folder, so consecutive runs see each other's outputs."""

from pathlib import Path

import dagster as dg

from mlops_assets.assets.evaluation import model_evaluation, promotion_gate
from mlops_assets.assets.promotion import production_model
from mlops_assets.assets.serving import batch_predictions, online_store
from mlops_assets.assets.training import CANDIDATES, training_set
from mlops_assets.core.training.data_size import data_size
from mlops_assets.dataset import problem
from mlops_assets.resources.json_io_manager import JsonIOManager
from mlops_assets.resources.model_registry import ModelRegistryResource
from mlops_assets.resources.online_store import OnlineStoreResource
from mlops_assets.resources.warehouse import WarehouseResource
from tests import dataset as dataset_tests

TRAINING = [
    training_set,
    *CANDIDATES,
    model_evaluation,
    promotion_gate,
    production_model,
]
ASSETS = [*TRAINING, online_store, batch_predictions]
MODEL = problem.MODEL_NAME
# The dataset's tests may set the budget (tests/dataset/__init__.py: LAB_TRAIN_MONTHS); else as
# many months as a retrain learns from (DATA_SIZE: 24 of daily weather, every season twice), so a
# first model has the rows to beat the baseline on any dataset.
TRAIN_MONTHS = getattr(dataset_tests, "LAB_TRAIN_MONTHS", data_size("retrain_months"))
SMALL = {
    "training_set": {"train_months": TRAIN_MONTHS},
    "lightgbm_candidate": {"num_boost_round": 300},
    # >>> pytorch
    "torch_candidate": {"max_epochs": 2},
    # <<< pytorch
}
# Better than the trivial baseline, well short of a full training budget.
WEAK = {
    "lightgbm_candidate": {"num_boost_round": 3, "early_stopping_rounds": 3},
    # >>> pytorch
    "torch_candidate": {"max_epochs": 1, "lr": 1e-4},
    # <<< pytorch
}
WORSE = {
    "training_set": {"train_months": TRAIN_MONTHS},
    "lightgbm_candidate": {"num_boost_round": 2, "learning_rate": 0.001, "num_leaves": 2},
    # >>> pytorch
    "torch_candidate": {"max_epochs": 1, "lr": 1e-7},
    # <<< pytorch
}


class Lab:
    """One registry folder, one Dagster instance and IO-manager folder: runs see each other."""

    def __init__(self, root: Path, warehouse: Path):
        self.root = root
        self.registry_resource = ModelRegistryResource(local_root=str(root / "data" / "registry"))
        self.instance = dg.DagsterInstance.ephemeral()
        self.resources = {
            "warehouse": WarehouseResource(database=str(warehouse)),
            "model_registry": self.registry_resource,
            "online": OnlineStoreResource(root=str(root / "data" / "online_store")),
            "io_manager": JsonIOManager(base_dir=str(root / "io")),
        }

    @property
    def registry(self):
        return self.registry_resource.registry()

    def run(self, ops: dict, selection=None, partition_key: str | None = None):
        return dg.materialize(
            ASSETS,
            selection=selection or TRAINING,
            partition_key=partition_key,
            resources=self.resources,
            instance=self.instance,
            run_config=dg.RunConfig(ops={k: {"config": v} for k, v in ops.items()}),
            raise_on_error=False,
        )
