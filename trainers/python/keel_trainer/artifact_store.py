"""Keel's content-addressed artifact store on a filesystem, as artifacts/fs-artifact-store.ts lays it out.

Every artifact lives at ``<root>/sha256/<sha256[0:2]>/<sha256><extension>`` and is named by the sha256 of its bytes.
Writes go to a temporary file in the destination directory, are fsynced and renamed into place (then the directory is
fsynced), so a reader never sees half a file and writing the same bytes twice is harmless.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_EXTENSION = re.compile(r"^(\.[a-z0-9]{1,12})*$", re.IGNORECASE)


class ArtifactNotFound(Exception):
    """No artifact with that sha256 is stored."""


class ArtifactCorrupt(Exception):
    """A stored artifact's bytes do not hash to its name."""


@dataclass(frozen=True)
class StoredArtifact:
    sha256: str
    uri: str


class FsArtifactStore:
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def _shard(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / "sha256" / sha256[:2]

    def find(self, sha256: str) -> Path:
        shard = self._shard(sha256)
        try:
            names = os.listdir(shard)
        except FileNotFoundError:
            names = []
        for name in names:
            if name == sha256 or name.startswith(f"{sha256}."):
                return shard / name
        raise ArtifactNotFound(f"artifact {sha256} is not in the artifact store at {self.root}")

    def local_path(self, sha256: str) -> Path:
        """The artifact's file, after checking its bytes hash to its name."""
        path = self.find(sha256)
        actual = sha256_of_file(path)
        if actual != sha256:
            raise ArtifactCorrupt(f"artifact {sha256} is corrupt: its bytes hash to {actual}")
        return path

    def put_bytes(self, data: bytes, extension: str = "") -> StoredArtifact:
        if not _EXTENSION.match(extension):
            raise ValueError(f"invalid artifact extension {extension!r}")
        sha256 = hashlib.sha256(data).hexdigest()
        try:
            existing = self.find(sha256)
            return StoredArtifact(sha256, existing.resolve().as_uri())
        except ArtifactNotFound:
            pass
        shard = self._shard(sha256)
        shard.mkdir(parents=True, exist_ok=True)
        staging = shard / f".tmp-{uuid.uuid4()}"
        final = shard / f"{sha256}{extension.lower()}"
        try:
            with open(staging, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(staging, final)
            directory = os.open(shard, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        finally:
            staging.unlink(missing_ok=True)
        return StoredArtifact(sha256, final.resolve().as_uri())

    def put_file(self, path: str | os.PathLike[str], extension: str = "") -> StoredArtifact:
        return self.put_bytes(Path(path).read_bytes(), extension)


def sha256_of_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
