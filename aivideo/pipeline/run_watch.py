"""Run watch: a running phase's heartbeat, and the sweep that requeues runs whose job was lost."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from aivideo.domain import runs
from aivideo.domain.values import RunWork
from aivideo.runtime import Runtime

log = logging.getLogger(__name__)


def stale_after(rt: Runtime) -> timedelta:
    # Three missed beats: one late beat is not a death.
    return timedelta(seconds=3 * rt.settings.run_heartbeat_seconds)


async def keep_beating(rt: Runtime, work: RunWork) -> None:
    """Show the run is alive until it ends (or another attempt owns it)."""
    while True:
        await asyncio.sleep(rt.settings.run_heartbeat_seconds)
        async with rt.transaction() as session:
            if not await runs.beat(session, work=work):
                return


async def sweep_forever(rt: Runtime) -> None:
    """Queue again the runs whose worker died, so that a live worker takes them over."""
    while True:
        await asyncio.sleep(rt.settings.run_heartbeat_seconds)
        try:
            async with rt.transaction() as session:
                lost = await runs.runs_to_requeue(
                    session, stale_after=stale_after(rt), queued_after=10 * stale_after(rt)
                )
            for run_id in lost:
                log.warning("run %s looks lost; queueing it again", run_id)
                await rt.enqueue_run(run_id)
        except (OSError, SQLAlchemyError) as exc:  # a passing outage: try on the next round
            log.warning("could not sweep for stale runs: %s", exc)
