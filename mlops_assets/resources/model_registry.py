"""The model registry resource: a local folder by default, an S3 bucket by configuration."""

from pydantic import Field

from mlops_assets.core.blob_store import REGISTRY_PREFIX
from mlops_assets.core.registry.registry import ModelRegistry
from mlops_assets.resources.storage import BlobStoreResource
from mlops_assets.settings import DATA_DIR, MODEL_NAME


class ModelRegistryResource(BlobStoreResource):
    local_root: str = Field(default=str(DATA_DIR / "registry"))
    s3_prefix: str = REGISTRY_PREFIX
    model_name: str = MODEL_NAME

    def registry(self) -> ModelRegistry:
        return ModelRegistry(self.blob_store())
