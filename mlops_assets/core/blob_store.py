"""Where registry files live: a local folder by default, an S3 bucket by configuration.

Both stores write whole objects only. The local one writes a temp file and renames (or links)
it into place, so a reader never sees half a file; S3 PUTs are atomic by nature.

Both also offer create-if-absent (``put_if_absent``), the one primitive that lets concurrent
writers share a registry: a version or event number belongs to whoever creates its object
first. Listing can only suggest a free number; two writers that list at the same moment
suggest the same one.
"""

import os
import tempfile
from pathlib import Path
from typing import Protocol

# S3 answers a conditional PUT on an existing key with 412 PreconditionFailed, and one that
# races another conditional PUT on the same key with 409 ConditionalRequestConflict.
TAKEN_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}
PROBE_KEY = ".conditional-write-probe"
# Set, every store of the project (registry, profiles, step outputs) lives in this bucket; the
# endpoint and credentials are boto3's own settings (AWS_ENDPOINT_URL_S3 for a local server).
S3_BUCKET_ENV = "MLOPS_S3_BUCKET"
# Key prefixes in that bucket, mirroring the data folder: profiles and the rest under the
# first, the registry under the second (the service and the resources use these same names).
DATA_PREFIX = "mlops-assets"
REGISTRY_PREFIX = "mlops-assets/registry"


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def put_if_absent(self, key: str, data: bytes) -> bool: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def list(self, prefix: str) -> list[str]: ...


class LocalBlobStore:
    """A folder; keys are relative paths."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _write_temp(self, path: Path, data: bytes) -> str:
        """A fully written, fsynced hidden temp file beside ``path`` (hidden: ``list`` skips it)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return tmp

    def put(self, key: str, data: bytes) -> None:
        path = self.root / key
        tmp = self._write_temp(path, data)
        try:
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Create ``key`` unless it exists. True when it now holds ``data``: created by this
        call, or an identical earlier write. ``os.link`` of a complete temp file fails if the
        name exists, so exactly one of several racing writers wins, and none is ever half seen.
        """
        path = self.root / key
        tmp = self._write_temp(path, data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return path.read_bytes() == data
        finally:
            Path(tmp).unlink(missing_ok=True)
        _fsync_dir(path.parent)  # the new name survives a power cut before later writes do
        return True

    def get(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def list(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.exists():
            return []
        return sorted(
            str(p.relative_to(self.root))
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class S3BlobStore:
    """An S3 bucket and prefix, through any boto3 S3 client (e.g. dagster-aws' S3Resource)."""

    def __init__(self, client, bucket: str, prefix: str = ""):
        self.client, self.bucket, self.prefix = client, bucket, prefix.strip("/")
        self._conditional_writes_checked = False

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Create ``key`` unless it exists (S3 conditional write, ``If-None-Match: *``).

        True when it now holds ``data``: created by this call, or an identical earlier write
        (botocore retries a PUT whose answer was lost, and the retry finds the first attempt).
        """
        self._check_conditional_writes()
        if self._create(self._key(key), data):
            return True
        return self.exists(key) and self.get(key) == data

    def _create(self, full_key: str, data: bytes) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=full_key, Body=data, IfNoneMatch="*")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in TAKEN_CODES or status == 412:
                return False
            raise
        return True

    def _check_conditional_writes(self) -> None:
        """Refuse an S3-compatible server that ignores ``If-None-Match``: with it, concurrent
        writers would silently overwrite each other. Two conditional PUTs of one probe key
        (once per store object): the second must be refused."""
        if self._conditional_writes_checked:
            return
        probe = self._key(PROBE_KEY)
        self._create(probe, b"probe")
        if self._create(probe, b"probe"):
            raise RuntimeError(
                f"s3://{self.bucket}/{probe}: the S3 endpoint ignored 'If-None-Match: *' and "
                "overwrote an existing object; concurrent registry writers would lose versions. "
                "Use AWS S3 or an S3-compatible server that supports conditional writes."
            )
        self._conditional_writes_checked = True

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError:
            return False
        return True

    def list(self, prefix: str) -> list[str]:
        keys, token = [], None
        while True:
            kwargs = {"Bucket": self.bucket, "Prefix": self._key(prefix)}
            if token:
                kwargs["ContinuationToken"] = token
            page = self.client.list_objects_v2(**kwargs)
            strip = len(self.prefix) + 1 if self.prefix else 0
            keys += [obj["Key"][strip:] for obj in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                return sorted(keys)
            token = page["NextContinuationToken"]


def blob_store_for(local_root: str | Path, s3_prefix: str) -> BlobStore:
    """The store the configuration names: ``s3://$MLOPS_S3_BUCKET/<s3_prefix>`` when set (the
    scale-out stack; the service and the assets then share it from any host), else the folder.
    """
    bucket = os.environ.get(S3_BUCKET_ENV)
    if not bucket:
        return LocalBlobStore(local_root)
    import boto3  # the same client code as AWS's; only the endpoint setting differs

    return S3BlobStore(boto3.client("s3"), bucket, s3_prefix)
