"""Phase jobs: one run of one phase, from its inputs to its checkpoint. Safe to retry."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress

from aivideo import metrics
from aivideo.domain import runs
from aivideo.domain.values import RunWork
from aivideo.errors import AivideoError, NotFound
from aivideo.logging_setup import bind_ids
from aivideo.models import Phase
from aivideo.pipeline.phases import PHASES, Progress
from aivideo.pipeline.run_watch import stale_after, start_heartbeat
from aivideo.providers.base import ProviderError
from aivideo.runtime import Runtime
from aivideo.runtime.file_cleanup import redo_if_file_gone

log = logging.getLogger(__name__)


class RunCancelled(Exception):
    """The run was cancelled while it worked; its results are dropped."""


async def run_phase(rt: Runtime, run_id: str) -> None:
    """Execute one phase run from start to its checkpoint."""
    try:
        async with rt.transaction() as session:
            work = await runs.start_run(session, run_id=run_id, stale_after=stale_after(rt))
    except NotFound:
        work = None  # the video was deleted before the job started
    if work is None:
        return
    phase, started = str(work.phase), time.monotonic()
    metrics.job_started(phase)
    heart = start_heartbeat(rt, work)
    outcome = "failed"
    try:
        with bind_ids(video_id=work.video_id, branch_id=work.branch_id, run_id=work.run_id):
            outcome = await _execute(rt, work)
    finally:
        metrics.job_finished(phase, outcome, time.monotonic() - started)
        heart.cancel()
        with suppress(asyncio.CancelledError):
            await heart


async def _execute(rt: Runtime, work: RunWork) -> str:
    """Run the phase; how it ended (succeeded, cancelled or failed), for the metrics."""

    async def progress(fraction: float) -> None:
        # Best-effort: a report that cannot be recorded (database or broker away) is
        # skipped, never a reason to fail the phase. A lost run still stops here.
        try:
            async with rt.transaction() as session:
                owned = await runs.report_progress(session, work=work, fraction=fraction)
        except AivideoError:
            raise  # e.g. NotFound: the video was deleted
        except Exception as exc:
            log.warning(
                "progress %.2f of run %s not recorded: %s: %s",
                fraction,
                work.run_id,
                type(exc).__name__,
                exc,
            )
            return
        if not owned:
            raise RunCancelled(work.run_id)

    try:
        await redo_if_file_gone(f"run {work.run_id}")(_produce_and_store, rt, work, progress)
    except RunCancelled:
        log.info("run %s was cancelled or taken over while running", work.run_id)
        return "cancelled"
    except NotFound:
        log.info("run %s vanished with its video", work.run_id)
        return "cancelled"
    except Exception as exc:
        await _fail(rt, work, exc)
        return "failed"
    return "succeeded"


async def _produce_and_store(rt: Runtime, work: RunWork, progress: Progress) -> None:
    """Run the phase and store its checkpoint, with every file it references still stored."""
    outputs = await PHASES[work.phase](rt, work, progress)
    async with rt.transaction() as session:
        if await runs.complete_run(session, work=work, outputs=outputs) is not None:
            await rt.files.hold(session, [new.sha256 for new in outputs if new.sha256])


async def _fail(rt: Runtime, work: RunWork, exc: Exception) -> None:
    name = Phase.of(work.phase).value
    if isinstance(exc, ProviderError | AivideoError):
        message = f"phase {work.phase} ({name}) failed: {exc}"
    else:
        log.error("run %s failed", work.run_id, exc_info=exc)
        message = (
            f"phase {work.phase} ({name}) failed with an internal error; retryBranch retries it"
        )
    async with rt.transaction() as session:
        await runs.fail_run(session, work=work, error=message)
