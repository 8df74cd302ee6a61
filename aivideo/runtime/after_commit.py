"""The effects a committed transaction asked for: events, jobs, prediction cancels, cleanup."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aivideo.domain.effects import Effects
from aivideo.providers.registry import HostedModels
from aivideo.runtime.file_cleanup import FileCleanup
from aivideo.runtime.job_queue import JobQueue
from aivideo.subscriptions.broker_base import EventBroker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AfterCommit:
    """Runs a committed transaction's effects."""

    events: EventBroker
    jobs: JobQueue
    hosted: HostedModels
    files: FileCleanup

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
                await self.jobs.enqueue_run(run_id)
            except (OSError, ConnectionError, TimeoutError) as exc:
                log.error("run %s not queued (the sweep will queue it): %s", run_id, exc)
        for model, prediction_ids in effects.predictions_to_cancel:
            try:
                await self.hosted.cancel(model, prediction_ids)
            except Exception as exc:  # the video is cancelled either way; the provider may finish
                log.warning("predictions %s of %s not cancelled: %s", prediction_ids, model, exc)
        if effects.orphan_candidates:
            try:
                await self.files.drop_unreferenced(effects.orphan_candidates)
            except (OSError, ConnectionError, TimeoutError) as exc:
                log.warning("unused files not removed (they stay until a later delete): %s", exc)
