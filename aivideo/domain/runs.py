"""The life of a phase run: queued (inputs fixed), started, progressing, finished or failed."""

from __future__ import annotations

from sqlalchemy import select
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


async def queue_run(
    session: AsyncSession, *, video: Video, branch: Branch, phase: int, parent: Checkpoint | None
) -> Run:
    """Queue `phase` on `branch`, consuming the parent's latest versions as of now."""
    inputs = await consumable_inputs(session, parent) if parent is not None else []
    run = Run(
        id=ids.new_id(ids.RUN),
        video_id=video.id,
        branch_id=branch.id,
        phase=phase,
        parent_checkpoint_id=parent.id if parent else None,
        status=RunStatus.QUEUED.value,
        input_ids=[a.id for a in inputs],
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


async def start_run(session: AsyncSession, *, run_id: str) -> RunWork | None:
    """Mark the run RUNNING and say what it works on; None when it is no longer wanted."""
    video, run, branch = await _locked_run(session, run_id)
    if run.status != RunStatus.QUEUED.value:
        return None  # cancelled, or already taken by another delivery of the job
    run.status, run.started_at = RunStatus.RUNNING.value, utcnow()
    await set_branch_state(
        session,
        video=video,
        branch=branch,
        status=BranchStatus.RUNNING,
        phase=run.phase,
        fraction=0.0,
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
        video_id=video.id,
        phase=run.phase,
        prompt=video.prompt,
        title=video.title,
        duration_seconds=video.duration_seconds,
        spec=await spec_of(session, parent) if parent is not None else None,
        inputs=[ArtifactRef.of(a) for a in inputs],
    )


async def report_progress(session: AsyncSession, *, run_id: str, fraction: float) -> bool:
    """Record progress within the phase; False when the run was cancelled meanwhile."""
    video, run, branch = await _locked_run(session, run_id)
    if run.status != RunStatus.RUNNING.value:
        return False
    run.progress = fraction
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
    session: AsyncSession, *, run_id: str, outputs: list[NewArtifact]
) -> Checkpoint | None:
    """Store the phase's checkpoint and artifacts; with autoContinue, queue the next phase."""
    video, run, branch = await _locked_run(session, run_id)
    if run.status != RunStatus.RUNNING.value:
        return None  # cancelled while it ran: the work is dropped, nothing is half-stored
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


async def fail_run(session: AsyncSession, *, run_id: str, error: str) -> None:
    """The branch goes FAILED with a readable error; what is stored stays."""
    video, run, branch = await _locked_run(session, run_id)
    if run.status not in (RunStatus.QUEUED.value, RunStatus.RUNNING.value):
        return
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
