"""Run watch: a running phase's heartbeat, and the sweep that requeues runs whose job was lost.

Both outlive outages: a failed beat or sweep (the database or Redis away, or anything
else) is logged and tried again with backoff, and each runs `watched`, so that if it ever
ends unexpectedly it is logged loudly and started again rather than silently missing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type
from tenacity.wait import wait_exponential, wait_random

from aivideo.domain import runs
from aivideo.domain.values import RunWork
from aivideo.runtime import Runtime

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30.0


def stale_after(rt: Runtime) -> timedelta:
    # Three missed beats: one late beat is not a death.
    return timedelta(seconds=3 * rt.settings.run_heartbeat_seconds)


def _patient(what: str, first_wait: float, *, level: int = logging.WARNING) -> AsyncRetrying:
    """Retries of `what` on any error, backing off from `first_wait`, each failure logged."""

    def report(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        pause = state.next_action.sleep if state.next_action else 0.0
        log.log(
            level,
            "%s failed (%s: %s); trying again in %.1f s",
            what,
            type(error).__name__,
            error,
            pause,
        )

    return AsyncRetrying(
        retry=retry_if_exception_type(Exception),
        wait=wait_exponential(multiplier=first_wait, max=max(first_wait, MAX_BACKOFF_SECONDS))
        + wait_random(0, first_wait),  # jitter: workers do not retry in step
        before_sleep=report,
        reraise=True,
    )


class WatchedTaskEnded(Exception):
    """A task meant to run for the life of the process returned."""


async def watched(
    name: str, run: Callable[[], Awaitable[None]], *, pause: float, forever: bool
) -> None:
    """Run `run()` under watch: if it fails (or, when `forever`, returns), log it loudly and
    start it again after a backoff. Cancelling the watch cancels `run()`."""

    async def once() -> None:
        await run()
        if forever:
            raise WatchedTaskEnded(f"{name} returned")

    await _patient(f"{name} (restarting it)", pause, level=logging.ERROR)(once)


async def keep_beating(rt: Runtime, work: RunWork) -> None:
    """Show the run is alive until it ends (or another attempt owns it)."""
    beat = rt.settings.run_heartbeat_seconds
    retrying = _patient(f"heartbeat of run {work.run_id}", beat)
    while True:
        await asyncio.sleep(beat)
        if not await retrying(_beat_once, rt, work):
            return


async def _beat_once(rt: Runtime, work: RunWork) -> bool:
    async with rt.transaction() as session:
        return await runs.beat(session, work=work)


def start_heartbeat(rt: Runtime, work: RunWork) -> asyncio.Task[None]:
    """The run's heartbeat as a watched task; it ends once the attempt no longer owns the run."""
    return asyncio.create_task(
        watched(
            f"heartbeat of run {work.run_id}",
            partial(keep_beating, rt, work),
            pause=rt.settings.run_heartbeat_seconds,
            forever=False,
        )
    )


async def sweep_forever(rt: Runtime) -> None:
    """Queue again the runs whose worker died, so that a live worker takes them over."""
    beat = rt.settings.run_heartbeat_seconds
    retrying = _patient("sweep for lost runs", beat)
    while True:
        await asyncio.sleep(beat)
        await retrying(sweep_once, rt)


async def sweep_once(rt: Runtime) -> None:
    """One pass of the sweep."""
    async with rt.transaction() as session:
        lost = await runs.runs_to_requeue(
            session, stale_after=stale_after(rt), queued_after=10 * stale_after(rt)
        )
    for run_id in lost:
        log.warning("run %s looks lost; queueing it again", run_id)
        await rt.enqueue_run(run_id)


def start_sweeper(rt: Runtime) -> asyncio.Task[None]:
    """The sweep as a watched task for the life of the worker."""
    return asyncio.create_task(
        watched(
            "sweep for lost runs",
            partial(sweep_forever, rt),
            pause=rt.settings.run_heartbeat_seconds,
            forever=True,
        )
    )
