"""Step outputs as JSON files: what flows between the project's assets, never pickled.

Dagster's default IO manager pickles every output and unpickles it in the next step, so whoever
can write the storage folder (or bucket) can run code in every later step. The outputs passed
between assets here are small records (a training-set reference, a registered version, an
evaluation); as JSON they are readable in the storage folder, and an output that is not plain
data fails loudly where it is written. Built on Dagster's ``UPathIOManager``, so the same class
stores to a local folder or to ``s3://...`` paths.
"""

import json

import dagster as dg
from upath import UPath


class JsonFileIOManager(dg.UPathIOManager):
    extension = ".json"

    def dump_to_path(self, context: dg.OutputContext, obj, path: UPath) -> None:
        try:
            data = json.dumps(obj, indent=1, sort_keys=True, allow_nan=True)
        except TypeError as exc:
            name = context.asset_key.to_user_string() if context.has_asset_key else context.step_key
            raise TypeError(
                f"output of {name} is not plain JSON data ({exc}); "
                "return dicts, lists, str, int, float, bool or None"
            ) from exc
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.tmp")
        staging.write_text(data)
        staging.rename(path)  # readers never see half a file

    def load_from_path(self, context: dg.InputContext, path: UPath):
        return json.loads(path.read_text())


class JsonIOManager(dg.ConfigurableIOManagerFactory):
    """The project's ``io_manager``: JSON files under ``base_dir`` (default: the instance's
    storage folder, as for Dagster's own filesystem IO manager)."""

    base_dir: str | None = None

    def create_io_manager(self, context: dg.InitResourceContext) -> JsonFileIOManager:
        base = self.base_dir or context.instance.storage_directory()
        return JsonFileIOManager(base_path=UPath(base))
