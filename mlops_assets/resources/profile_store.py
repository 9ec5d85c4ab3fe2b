"""The whylogs profile store resource: training references and serving windows; its blob store
also holds what the service logs (``prediction_log/``)."""

from pydantic import Field

from mlops_assets.core.monitoring.profile_store import ProfileStore
from mlops_assets.resources.storage import BlobStoreResource
from mlops_assets.settings import DATA_DIR


class ProfileStoreResource(BlobStoreResource):
    """Profiles land under ``<local_root>/profiles`` (the service writes to the same folder)."""

    local_root: str = Field(default=str(DATA_DIR))

    def store(self) -> ProfileStore:
        return ProfileStore(self.blob_store())
