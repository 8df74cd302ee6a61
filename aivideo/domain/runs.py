"""The life of a phase run: queued (inputs fixed), started, progressing, finished or failed."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aivideo import ids
from aivideo.domain.effects import effects_of
from aivideo.domain.events import record_checkpoint_created
from aivideo.domain.locking import lock_video_of
from aivideo.domain.progress import paused_state, set_branch_state
from aivideo.domain.tree import (
    add_checkpoint,
    consumable_inputs,
    spec_of,
)
from aivideo.domain.values import ArtifactRef, NewArtifact, RunWork
from aivideo.models import (
    FINAL_PHASE,
    Artifact,
    Branch,
    BranchStatus,
    Checkpoint,
    CheckpointStatus,
    Run,
    RunStatus,
    Video,
)
from aivideo.models.columns import utcnow

log = logging.getLogger(__name__)


async def queue_run(
    session: AsyncSession, *, video: Video, branch: Branch, phase: int, parent: Checkpoint | None
) -> Run:
    """Queue `phase` on `branch`, consuming the parent's latest versions as of now."""
    inputs = await consumable_inputs(session, parent) if parent is not None else []
    return await _queue(
        session,
        video=video,
        branch=branch,
        phase=phase,
        parent_id=parent.id if parent else None,
        input_ids=[a.id for a in inputs],
    )


async def queue_retry(session: AsyncSession, *, video: Video, branch: Branch, failed: Run) -> Run:
    """Queue `failed`'s phase again on `branch`, consuming the very versions it was given."""
    return await _queue(
        session,
        video=video,
        branch=branch,
        phase=failed.phase,
        parent_id=failed.parent_checkpoint_id,
        input_ids=list(failed.input_ids),
    )


async def _queue(
    session: AsyncSession,
    *,
    video: Video,
    branch: Branch,
    phase: int,
    parent_id: str | None,
    input_ids: list[str],
) -> Run:
    run = Run(
        id=ids.new_id(ids.RUN),
        video_id=video.id,
        branch_id=branch.id,
        phase=phase,
        parent_checkpoint_id=parent_id,
        status=RunStatus.QUEUED.value,
        input_ids=input_ids,
        heartbeat_at=utcnow(),  # while QUEUED: when it was last sent to the job queue
    )
    session.add(run)
    await set_branch_state(
        session, video=video, branch=branch, status=BranchStatus.QUEUED, phase=phase, fraction=0.0
    )
    effects_of(session).run_ids.append(run.id)
    return run


async def _locked_run(session: AsyncSession, run_id: str) -> tuple[Video, Run, Branch]:
    video = await lock_video_of(session, model=Run, row_id=run_id, owner=None, kind="run")
    run = await session.get(Run, run_id, populate_existing=True)
    assert run is not None  # the lock found it
    branch = await session.get(Branch, run.branch_id, populate_existing=True)
    assert branch is not None
    return video, run, branch


async def start_run(
    session: AsyncSession, *, run_id: str, stale_after: timedelta
) -> RunWork | None:
    """Take the run and say what it works on; None when it is not this delivery's to do.

    A QUEUED run is taken; so is a RUNNING one whose heartbeat stopped `stale_after` ago
    (its worker died and the job came again). Each taking is a new `attempt`, and only the
    newest attempt may report progress or store results.
    """
    video, run, branch = await _locked_run(session, run_id)
    now = utcnow()
    stale = run.heartbeat_at is None or run.heartbeat_at < now - stale_after
    if run.status == RunStatus.RUNNING.value and stale:
        log.warning("run %s (attempt %d) stopped beating; taking it over", run.id, run.attempt)
    elif run.status != RunStatus.QUEUED.value:
        return None  # finished, cancelled, or alive in another worker
    run.status, run.started_at, run.heartbeat_at = RunStatus.RUNNING.value, now, now
    run.attempt += 1
    await set_branch_state(
        session,
        video=video,
        branch=branch,
        status=BranchStatus.RUNNING,
        phase=run.phase,
        fraction=run.progress,
    )
    inputs = list(
        await session.scalars(select(Artifact).where(col(Artifact.id).in_(run.input_ids)))
    )
    inputs.sort(key=lambda a: run.input_ids.index(a.id))
    parent = (
        await session.get(Checkpoint, run.parent_checkpoint_id)
        if run.parent_checkpoint_id
        else None
    )
    return RunWork(
        run_id=run.id,
        attempt=run.attempt,
        video_id=video.id,
        branch_id=branch.id,
        phase=run.phase,
        generation=dict(video.generation),
        prompt=video.prompt,
        title=video.title,
        duration_seconds=video.duration_seconds,
        spec=await spec_of(session, parent) if parent is not None else None,
        inputs=[ArtifactRef.of(a) for a in inputs],
    )


async def _owned_run(session: AsyncSession, work: RunWork) -> tuple[Video, Run, Branch] | None:
    """The locked run, if it is still RUNNING under this attempt (not cancelled or taken over)."""
    video, run, branch = await _locked_run(session, work.run_id)
    if run.status != RunStatus.RUNNING.value or run.attempt != work.attempt:
        return None
    return video, run, branch


async def beat(session: AsyncSession, *, work: RunWork) -> bool:
    """Record that the attempt is alive; False when it no longer owns the run."""
    alive = await session.execute(
        update(Run)
        .where(
            col(Run.id) == work.run_id,
            col(Run.attempt) == work.attempt,
            col(Run.status) == RunStatus.RUNNING,
        )
        .values(heartbeat_at=utcnow())
        .returning(col(Run.id))
    )
    return alive.first() is not None


async def runs_to_requeue(
    session: AsyncSession, *, stale_after: timedelta, queued_after: timedelta
) -> list[str]:
    """Runs whose job is presumably lost: RUNNING without a beat for `stale_after` (the
    worker died), or QUEUED and not sent to the queue for `queued_after` (sending failed).
    The QUEUED ones are marked sent now, so each is sent again at most that often."""
    now = utcnow()
    silent = or_(col(Run.heartbeat_at).is_(None), col(Run.heartbeat_at) < now - stale_after)
    unsent = col(Run.heartbeat_at) < now - queued_after
    rows = list(
        await session.scalars(
            select(Run).where(
                or_(
                    (col(Run.status) == RunStatus.RUNNING) & silent,
                    (col(Run.status) == RunStatus.QUEUED) & unsent,
                )
            )
        )
    )
    for run in rows:
        if run.status == RunStatus.QUEUED.value:
            run.heartbeat_at = now
    return [run.id for run in rows]


async def report_progress(session: AsyncSession, *, work: RunWork, fraction: float) -> bool:
    """Record progress within the phase; False when the attempt lost the run meanwhile."""
    owned = await _owned_run(session, work)
    if owned is None:
        return False
    video, run, branch = owned
    run.progress, run.heartbeat_at = fraction, utcnow()
    await set_branch_state(
        session,
        video=video,
        branch=branch,
        status=BranchStatus.RUNNING,
        phase=run.phase,
        fraction=fraction,
    )
    return True


async def complete_run(
    session: AsyncSession, *, work: RunWork, outputs: list[NewArtifact]
) -> Checkpoint | None:
    """Store the phase's checkpoint and artifacts; with autoContinue, queue the next phase."""
    owned = await _owned_run(session, work)
    if owned is None:
        return None  # cancelled or taken over while it ran: dropped, nothing half-stored
    video, run, branch = owned
    checkpoint = await add_checkpoint(
        session,
        video_id=video.id,
        branch_id=branch.id,
        parent_id=run.parent_checkpoint_id,
        phase=run.phase,
        input_ids=run.input_ids,
    )
    if run.phase == FINAL_PHASE or video.auto_continue:
        checkpoint.status, checkpoint.approved_at = CheckpointStatus.APPROVED.value, utcnow()
    session.add_all(
        new.row(
            id=ids.new_id(ids.ARTIFACT), video_id=video.id, checkpoint_id=checkpoint.id, version=1
        )
        for new in outputs
    )
    run.status, run.progress, run.finished_at = RunStatus.SUCCEEDED.value, 1.0, utcnow()
    run.checkpoint_id = checkpoint.id
    await set_branch_state(
        session,
        video=video,
        branch=branch,
        status=paused_state(run.phase),
        phase=run.phase,
        fraction=1.0,
    )
    await session.flush()
    record_checkpoint_created(session, video=video, checkpoint=checkpoint, branch=branch)
    if video.auto_continue and run.phase < FINAL_PHASE:
        await queue_run(session, video=video, branch=branch, phase=run.phase + 1, parent=checkpoint)
    return checkpoint


async def fail_run(session: AsyncSession, *, work: RunWork, error: str) -> None:
    """The branch goes FAILED with a readable error; what is stored stays."""
    owned = await _owned_run(session, work)
    if owned is None:
        return
    video, run, branch = owned
    run.status, run.error, run.finished_at = RunStatus.FAILED.value, error, utcnow()
    await set_branch_state(
        session,
        video=video,
        branch=branch,
        status=BranchStatus.FAILED,
        phase=run.phase,
        fraction=run.progress,
        error=error,
    )


async def requeue_interrupted(session: AsyncSession) -> list[str]:
    """Queue again the runs a stopped process left QUEUED or RUNNING (embedded mode only:
    there, no other process can be working on them). Jobs are idempotent, so they resume."""
    stranded = list(
        await session.scalars(
            select(Run)
            .where(col(Run.status).in_([RunStatus.QUEUED, RunStatus.RUNNING]))
            .order_by(col(Run.created_at))
        )
    )
    for run in stranded:
        run.status, run.started_at = RunStatus.QUEUED.value, None
        effects_of(session).run_ids.append(run.id)
    return [run.id for run in stranded]
