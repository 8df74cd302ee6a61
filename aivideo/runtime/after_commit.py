"""The effects a committed transaction asked for: events, jobs, prediction cancels, cleanup."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from aivideo import metrics
from aivideo.domain.effects import Effects
from aivideo.providers.registry import HostedModels
from aivideo.runtime.file_cleanup import FileCleanup
from aivideo.runtime.job_queue import JobQueue
from aivideo.subscriptions.broker_base import EventBroker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AfterCommit:
    """Runs a committed transaction's effects, each on its own.

    What is committed stands: whatever one effect raises (redis-py's, botocore's, httpx's
    errors as much as the built-in ones) is logged, and the next effect still runs. Nothing
    here turns a committed mutation into an error, so a client never retries (and
    duplicates) what already happened. Subscribers recover a missed event by replaying with
    `after`; a run whose job was not queued is queued again by the workers' sweep (or, in
    the embedded default, on the next start); a file left behind is only disk space.
    """

    events: EventBroker
    jobs: JobQueue
    hosted: HostedModels
    files: FileCleanup

    async def apply(self, effects: Effects) -> None:
        for channel, event in effects.events:
            published = await _isolated(
                partial(self.events.publish, channel, event),
                "event on %s not published (an `after` subscriber replays it)",
                channel,
            )
            if published:
                metrics.event_published()
        for run_id in effects.run_ids:
            await _isolated(
                partial(self.jobs.enqueue_run, run_id),
                "run %s not queued (the sweep queues it again)",
                run_id,
                level=logging.ERROR,
            )
        for model, prediction_ids in effects.predictions_to_cancel:
            for prediction_id in prediction_ids:
                await _isolated(
                    partial(self.hosted.cancel, model, [prediction_id]),
                    "prediction %s of %s not cancelled (the provider ends it in time)",
                    prediction_id,
                    model,
                )
        if effects.orphan_candidates:
            await self.files.drop_unreferenced(effects.orphan_candidates)


async def _isolated(
    effect: Callable[[], Awaitable[None]], what: str, *args: object, level: int = logging.WARNING
) -> bool:
    """Run one effect; log its failure with the error's type, never raise it."""
    try:
        await effect()
    except Exception as exc:
        log.log(level, what + ": %s: %s", *args, type(exc).__name__, exc)
        return False
    return True
