"""Step outputs as JSON files: what flows between the project's assets, never pickled.

Dagster's default IO manager pickles every output and unpickles it in the next step, so whoever
can write the storage folder (or bucket) can run code in every later step. The outputs passed
between assets here are small records (a training-set reference, a registered version, an
evaluation); as JSON they are readable in the storage folder, and an output that is not plain
data fails loudly where it is written. Built on Dagster's ``UPathIOManager`` (its partition
and path rules); the bytes go to a local folder, or, on the scale-out stack
(``MLOPS_S3_BUCKET``), to S3 through the project's blob store (``blob_store_for``, as the
service's registry and profiles), where every Celery worker reads them.
"""

import json
import os

import dagster as dg
from upath import UPath

from mlops_assets.core.blob_store import DATA_PREFIX, S3_BUCKET_ENV, BlobStore, blob_store_for


class JsonFileIOManager(dg.UPathIOManager):
    extension = ".json"

    def __init__(self, base_path: UPath, store: BlobStore | None = None):
        super().__init__(base_path=base_path)
        self.store = store  # None: the local folder of base_path

    def path_exists(self, path: UPath) -> bool:
        return self.store.exists(path.as_posix()) if self.store else path.exists()

    def make_directory(self, path: UPath) -> None:
        if not self.store:  # object stores have no folders
            path.mkdir(parents=True, exist_ok=True)

    def unlink(self, path: UPath) -> None:
        if not self.store:
            path.unlink()

    def dump_to_path(self, context: dg.OutputContext, obj, path: UPath) -> None:
        try:
            data = json.dumps(obj, indent=1, sort_keys=True, allow_nan=True)
        except TypeError as exc:
            name = context.asset_key.to_user_string() if context.has_asset_key else context.step_key
            raise TypeError(
                f"output of {name} is not plain JSON data ({exc}); "
                "return dicts, lists, str, int, float, bool or None"
            ) from exc
        if self.store:
            self.store.put(path.as_posix(), data.encode())  # a PUT is whole or absent
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.tmp")
        staging.write_text(data)
        staging.rename(path)  # readers never see half a file

    def load_from_path(self, context: dg.InputContext, path: UPath):
        if self.store:
            return json.loads(self.store.get(path.as_posix()))
        return json.loads(path.read_text())


class JsonIOManager(dg.ConfigurableIOManagerFactory):
    """The project's ``io_manager``: JSON files under ``base_dir`` (default: the instance's
    storage folder, as for Dagster's own filesystem IO manager), or JSON objects under
    ``s3://$MLOPS_S3_BUCKET/<DATA_PREFIX>/dagster/`` on the scale-out stack."""

    base_dir: str | None = None

    def create_io_manager(self, context: dg.InitResourceContext) -> JsonFileIOManager:
        base = self.base_dir or context.instance.storage_directory()
        if os.environ.get(S3_BUCKET_ENV):
            return JsonFileIOManager(UPath("."), blob_store_for(base, f"{DATA_PREFIX}/dagster"))
        return JsonFileIOManager(base_path=UPath(base))
