"""The model registry resource: a local folder by default, an S3 bucket by configuration."""

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field

from mlops_assets.core.blob_store import LocalBlobStore, S3BlobStore
from mlops_assets.core.registry import ModelRegistry
from mlops_assets.settings import DATA_DIR


class ModelRegistryResource(dg.ConfigurableResource):
    """Set ``s3_bucket`` to keep versions in S3 (credentials as for boto3); else ``local_root``."""

    local_root: str = Field(default=str(DATA_DIR / "registry"))
    s3_bucket: str | None = None
    s3_prefix: str = "mlops-assets/registry"
    s3_endpoint_url: str | None = Field(
        default=None, description="An S3-compatible endpoint, e.g. MinIO on 127.0.0.1."
    )
    model_name: str = "flight_delay"

    def registry(self) -> ModelRegistry:
        if self.s3_bucket:
            client = S3Resource(endpoint_url=self.s3_endpoint_url).get_client()
            return ModelRegistry(S3BlobStore(client, self.s3_bucket, self.s3_prefix))
        return ModelRegistry(LocalBlobStore(self.local_root))
