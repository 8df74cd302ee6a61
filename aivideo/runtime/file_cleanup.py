"""Removal of stored files that no artifact references any more."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import col

from aivideo.db import SessionMaker
from aivideo.models import Artifact
from aivideo.storage.base import Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileCleanup:
    """Deletes content-addressed files once no artifact uses them."""

    sessions: SessionMaker
    storage: Storage

    async def drop_unreferenced(self, shas: set[str]) -> None:
        """Delete each unreferenced file on its own; a failure is logged and leaves the file."""
        for sha in sorted(shas):
            try:
                await self._drop_if_unreferenced(sha)
            except Exception as exc:  # storage or database outage: the file stays, harmlessly
                log.warning("unused file %s not removed: %s: %s", sha, type(exc).__name__, exc)

    async def _drop_if_unreferenced(self, sha: str) -> None:
        async with self.sessions() as session:
            used = await session.scalar(
                select(col(Artifact.id)).where(col(Artifact.sha256) == sha).limit(1)
            )
        if used is None:
            await self.storage.delete(sha)
