"""The process's shared services, and the unit of work that runs effects after commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from aivideo.db import SessionMaker
from aivideo.domain.effects import take_effects
from aivideo.providers.base import ClipGenerator, ImageGenerator, MusicGenerator, Planner, Provider
from aivideo.providers.catalog import Catalog
from aivideo.providers.registry import HostedModels
from aivideo.rate_limits import GenerationLimiter
from aivideo.runtime.after_commit import AfterCommit
from aivideo.runtime.file_cleanup import FileCleanup
from aivideo.runtime.job_queue import JobQueue
from aivideo.settings import Settings
from aivideo.storage.base import Storage
from aivideo.subscriptions.broker_base import EventBroker
from aivideo.video_revisions import SqliteRevisions


@dataclass
class Runtime:
    """Settings, database, storage, provider, event broker and job queue of one process."""

    settings: Settings
    engine: AsyncEngine
    sessions: SessionMaker
    storage: Storage
    provider: Provider  # the local one; hosted model ids go to `hosted`
    catalog: Catalog
    hosted: HostedModels
    events: EventBroker
    jobs: JobQueue
    secret: bytes  # signs media URLs
    limiter: GenerationLimiter
    # On SQLite, video revisions read without the engine's thread hops (video_revisions.py).
    revisions: SqliteRevisions | None = None

    def planner(self, model_id: str) -> Planner:
        return self.provider if model_id == "local" else self.hosted.planner(model_id)

    def images(self, model_id: str) -> ImageGenerator:
        return self.provider if model_id == "local" else self.hosted.media(model_id)

    def clips(self, model_id: str) -> ClipGenerator:
        return self.provider if model_id == "local" else self.hosted.media(model_id)

    def music(self, model_id: str) -> MusicGenerator:
        return self.provider if model_id == "local" else self.hosted.media(model_id)

    @property
    def files(self) -> FileCleanup:
        """Removal of stored files no artifact uses any more."""
        return FileCleanup(sessions=self.sessions, storage=self.storage)

    @property
    def after_commit(self) -> AfterCommit:
        # Built per use from the current services, so a test may swap one of them.
        return AfterCommit(events=self.events, jobs=self.jobs, hosted=self.hosted, files=self.files)

    async def enqueue_run(self, run_id: str) -> None:
        await self.jobs.enqueue_run(run_id)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commit, then publish its events, queue its jobs, drop orphan files."""
        async with self.sessions() as session:
            try:
                async with session.begin():
                    yield session
            except BaseException:
                take_effects(session)
                raise
            effects = take_effects(session)
        await self.after_commit.apply(effects)
