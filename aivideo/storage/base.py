"""The storage contract: immutable files addressed by the SHA-256 of their content."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size_bytes: int
    content_type: str


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class Storage(ABC):
    """Content-addressed: the same bytes are stored once, and nothing is overwritten."""

    @abstractmethod
    async def put(self, content: bytes, *, content_type: str) -> StoredFile:
        """Store `content` (a no-op when it is already there) and say where."""

    @abstractmethod
    async def get(self, sha256: str) -> bytes:
        """The content; FileNotFoundError when it is not stored."""

    @abstractmethod
    async def exists(self, sha256: str) -> bool:
        """Whether the content is stored."""

    @abstractmethod
    async def delete(self, sha256: str) -> None:
        """Remove the content; missing content is not an error."""

    def local_path(self, sha256: str) -> Path | None:
        """A filesystem path to serve from, for backends that have one."""
        return None

    async def download_url(self, sha256: str, *, content_type: str | None) -> str | None:
        """A short-lived URL a browser can fetch the file from directly, where there is one."""
        return None
