"""The process's shared services, and the transaction that runs effects after commit."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from aivideo.db import SessionMaker
from aivideo.domain.effects import Effects, take_effects
from aivideo.models import Artifact
from aivideo.providers.base import ClipGenerator, ImageGenerator, MusicGenerator, Planner, Provider
from aivideo.providers.catalog import Catalog
from aivideo.providers.registry import HostedModels
from aivideo.rate_limits import GenerationLimiter
from aivideo.settings import Settings
from aivideo.storage.base import Storage
from aivideo.subscriptions.broker_base import EventBroker

log = logging.getLogger(__name__)

EnqueueRun = Callable[[str], Awaitable[None]]


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
    enqueue_run: EnqueueRun
    secret: bytes  # signs media URLs
    limiter: GenerationLimiter

    def planner(self, model_id: str) -> Planner:
        return self.provider if model_id == "local" else self.hosted.planner(model_id)

    def images(self, model_id: str) -> ImageGenerator:
        return self.provider if model_id == "local" else self.hosted.media(model_id)

    def clips(self, model_id: str) -> ClipGenerator:
        return self.provider if model_id == "local" else self.hosted.media(model_id)

    def music(self, model_id: str) -> MusicGenerator:
        return self.provider if model_id == "local" else self.hosted.media(model_id)

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
        await self.apply(effects)

    async def apply(self, effects: Effects) -> None:
        # What is committed stands: a failure here is logged, never turned into an error.
        # Subscribers recover missed events by replaying with `after`; a run whose job was
        # not queued is queued again by the workers' sweep.
        for channel, event in effects.events:
            try:
                await self.events.publish(channel, event)
            except (OSError, ConnectionError, TimeoutError) as exc:
                log.warning("event on %s not published: %s", channel, exc)
        for run_id in effects.run_ids:
            try:
                await self.enqueue_run(run_id)
            except (OSError, ConnectionError, TimeoutError) as exc:
                log.error("run %s not queued (the sweep will queue it): %s", run_id, exc)
        for model, prediction_ids in effects.predictions_to_cancel:
            try:
                await self.hosted.cancel(model, prediction_ids)
            except Exception as exc:  # the video is cancelled either way; the provider may finish
                log.warning("predictions %s of %s not cancelled: %s", prediction_ids, model, exc)
        if effects.orphan_candidates:
            try:
                await self._drop_unreferenced(effects.orphan_candidates)
            except (OSError, ConnectionError, TimeoutError) as exc:
                log.warning("unused files not removed (they stay until a later delete): %s", exc)

    async def _drop_unreferenced(self, shas: set[str]) -> None:
        async with self.sessions() as session:
            used = set(
                await session.scalars(
                    select(col(Artifact.sha256)).where(col(Artifact.sha256).in_(shas)).distinct()
                )
            )
        for sha in shas - used:
            await self.storage.delete(sha)


_current: Runtime | None = None


def set_runtime(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def current_runtime() -> Runtime:
    """The runtime of this process (set by the app's or the worker's startup)."""
    if _current is None:
        raise RuntimeError("aivideo runtime is not started")
    return _current
