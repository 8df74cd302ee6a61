"""Removal of stored files that no artifact references any more."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import col

from aivideo.db import SessionMaker
from aivideo.models import Artifact
from aivideo.storage.base import Storage


@dataclass(frozen=True)
class FileCleanup:
    """Deletes content-addressed files once no artifact uses them."""

    sessions: SessionMaker
    storage: Storage

    async def drop_unreferenced(self, shas: set[str]) -> None:
        async with self.sessions() as session:
            used = set(
                await session.scalars(
                    select(col(Artifact.sha256)).where(col(Artifact.sha256).in_(shas)).distinct()
                )
            )
        for sha in shas - used:
            await self.storage.delete(sha)
