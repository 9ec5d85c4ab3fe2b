"""Where artifacts live: a local folder by default, an S3 bucket (or an S3-compatible endpoint
such as MinIO on 127.0.0.1) by configuration. The registry and the profile store share it."""

import os

import dagster as dg
from pydantic import Field

from mlops_assets.core.blob_store import (
    DATA_PREFIX,
    S3_BUCKET_ENV,
    BlobStore,
    LocalBlobStore,
    S3BlobStore,
)


class BlobStoreResource(dg.ConfigurableResource):
    """Set ``s3_bucket`` (default: ``MLOPS_S3_BUCKET``) to keep objects in S3 (credentials as
    for boto3); else ``local_root``."""

    local_root: str
    s3_bucket: str | None = Field(default_factory=lambda: os.environ.get(S3_BUCKET_ENV) or None)
    s3_prefix: str = DATA_PREFIX
    s3_endpoint_url: str | None = Field(
        default=None, description="An S3-compatible endpoint, e.g. MinIO on 127.0.0.1."
    )

    def blob_store(self) -> BlobStore:
        if self.s3_bucket:
            from dagster_aws.s3 import S3Resource  # here: ~0.6 s at import, S3 only

            client = S3Resource(endpoint_url=self.s3_endpoint_url).get_client()
            return S3BlobStore(client, self.s3_bucket, self.s3_prefix)
        return LocalBlobStore(self.local_root)
