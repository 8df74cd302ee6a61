"""Files on local disk under <data_dir>/media/ab/abcdef…, written atomically."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path

from aivideo import metrics
from aivideo.storage.base import Storage, StoredFile, sha256_of

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class LocalStorage(Storage):
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise FileNotFoundError(sha256)  # never let a name escape the media folder
        return self.root / sha256[:2] / sha256

    def local_path(self, sha256: str) -> Path | None:
        path = self._path(sha256)
        return path if path.is_file() else None

    async def put(self, content: bytes, *, content_type: str) -> StoredFile:
        # Hashing and writing tens of megabytes would stall every other request.
        sha, written = await asyncio.to_thread(self._store, content)
        if written:
            metrics.media_stored("local", len(content))
        return StoredFile(sha256=sha, size_bytes=len(content), content_type=content_type)

    def _store(self, content: bytes) -> tuple[str, bool]:
        sha = sha256_of(content)
        return sha, self._write(self._path(sha), content)

    @staticmethod
    def _write(path: Path, content: bytes) -> bool:
        """Whether the file was new (identical content is stored once)."""
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, path)
        return True

    async def get(self, sha256: str) -> bytes:
        return await asyncio.to_thread(self._path(sha256).read_bytes)

    async def exists(self, sha256: str) -> bool:
        try:
            return self._path(sha256).is_file()
        except FileNotFoundError:
            return False

    async def delete(self, sha256: str) -> None:
        try:
            self._path(sha256).unlink(missing_ok=True)
        except FileNotFoundError:
            pass
