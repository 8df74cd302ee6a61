"""Continue and branch (SPEC rules 5–8): where the next phase runs, and forks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aivideo import ids
from aivideo.domain.branch_naming import check_chosen_name, next_child_name
from aivideo.domain.events import record_checkpoint_created
from aivideo.domain.locking import lock_video_of
from aivideo.domain.progress import set_branch_state
from aivideo.domain.runs import queue_run
from aivideo.domain.tree import add_checkpoint, consumable_inputs, latest_artifacts
from aivideo.errors import BadUserInput, Conflict
from aivideo.models import (
    FINAL_PHASE,
    Artifact,
    Branch,
    BranchStatus,
    Checkpoint,
    CheckpointStatus,
    Phase,
    Run,
    RunStatus,
    Video,
)
from aivideo.models.columns import utcnow


@dataclass(frozen=True)
class ContinueOutcome:
    checkpoint: Checkpoint
    branch: Branch
    next_phase: int
    created_new_branch: bool


async def _locked_checkpoint(
    session: AsyncSession, *, owner: str, checkpoint_id: str
) -> tuple[Video, Checkpoint, Branch]:
    video = await lock_video_of(
        session, model=Checkpoint, row_id=checkpoint_id, owner=owner, kind="checkpoint"
    )
    checkpoint = await session.get(Checkpoint, checkpoint_id, populate_existing=True)
    assert checkpoint is not None
    branch = await session.get(Branch, checkpoint.branch_id, populate_existing=True)
    assert branch is not None
    return video, checkpoint, branch


async def continue_checkpoint(
    session: AsyncSession, *, owner: str, checkpoint_id: str, branch_name: str | None = None
) -> ContinueOutcome:
    """Approve the checkpoint and queue the next phase on the branch rule 5 picks."""
    video, checkpoint, branch = await _locked_checkpoint(
        session, owner=owner, checkpoint_id=checkpoint_id
    )
    if checkpoint.phase == FINAL_PHASE:
        raise BadUserInput(
            f"checkpoint {checkpoint.id} is at phase 4 (REFINEMENT), the final phase: "
            "there is no next phase to continue to"
        )
    if checkpoint.status == CheckpointStatus.ABANDONED.value:
        raise Conflict(f"checkpoint {checkpoint.id} was abandoned; fork it with createBranch first")
    if checkpoint.approved_at is None:
        checkpoint.approved_at = utcnow()
    checkpoint.status = CheckpointStatus.APPROVED.value
    next_phase = checkpoint.phase + 1

    if branch_name is not None:
        target = await _new_branch(session, video, checkpoint, branch, name=branch_name)
        await queue_run(session, video=video, branch=target, phase=next_phase, parent=checkpoint)
        return ContinueOutcome(checkpoint, target, next_phase, True)

    runs = list(
        await session.scalars(
            select(Run).where(col(Run.branch_id) == branch.id).order_by(col(Run.created_at))
        )
    )
    last_next = next((r for r in reversed(runs) if r.phase == next_phase), None)
    if (
        last_next is not None
        and last_next.parent_checkpoint_id == checkpoint.id
        and (last_next.status in (RunStatus.FAILED.value, RunStatus.CANCELLED.value))
    ):
        # Retry: the branch's last attempt at the next phase did not finish.
        await queue_run(session, video=video, branch=branch, phase=next_phase, parent=checkpoint)
        return ContinueOutcome(checkpoint, branch, next_phase, False)
    if not await _branch_moved_on(session, branch, checkpoint, runs):
        await queue_run(session, video=video, branch=branch, phase=next_phase, parent=checkpoint)
        return ContinueOutcome(checkpoint, branch, next_phase, False)

    existing = await _run_with_current_inputs(session, checkpoint)
    if existing is not None:
        # Nothing new to consume: the call is a retry of one already served.
        same = await session.get(Branch, existing.branch_id)
        assert same is not None
        return ContinueOutcome(checkpoint, same, next_phase, False)
    target = await _new_branch(session, video, checkpoint, branch, name=None)
    await queue_run(session, video=video, branch=target, phase=next_phase, parent=checkpoint)
    return ContinueOutcome(checkpoint, target, next_phase, True)


async def _branch_moved_on(
    session: AsyncSession, branch: Branch, checkpoint: Checkpoint, runs: list[Run]
) -> bool:
    """Whether the branch already has a later checkpoint or run than `checkpoint`."""
    if any(r.phase > checkpoint.phase for r in runs):
        return True
    later = await session.scalar(
        select(col(Checkpoint.id))
        .where(col(Checkpoint.branch_id) == branch.id, col(Checkpoint.phase) > checkpoint.phase)
        .limit(1)
    )
    return later is not None


async def _run_with_current_inputs(session: AsyncSession, checkpoint: Checkpoint) -> Run | None:
    """The newest live run from `checkpoint` that consumed exactly its current latest versions."""
    current = sorted(a.id for a in await consumable_inputs(session, checkpoint))
    runs = await session.scalars(
        select(Run)
        .where(col(Run.parent_checkpoint_id) == checkpoint.id)
        .order_by(col(Run.created_at).desc())
    )
    for run in runs:
        if sorted(run.input_ids) == current and run.status not in (
            RunStatus.FAILED.value,
            RunStatus.CANCELLED.value,
        ):
            return run
    return None


async def _new_branch(
    session: AsyncSession, video: Video, checkpoint: Checkpoint, parent: Branch, *, name: str | None
) -> Branch:
    names = set(
        await session.scalars(select(col(Branch.name)).where(col(Branch.video_id) == video.id))
    )
    if name is None:
        name = next_child_name(parent.name, names)
    elif check_chosen_name(name) in names:
        raise Conflict(f"branch name {name!r} is already taken in this video; choose another")
    branch = Branch(
        id=ids.new_id(ids.BRANCH),
        video_id=video.id,
        name=name,
        parent_branch_id=parent.id,
        forked_from_id=checkpoint.id,
        status=BranchStatus.PAUSED.value,
        phase=checkpoint.phase,
    )
    session.add(branch)
    try:
        await session.flush()
    except IntegrityError as exc:  # the unique constraint is the last word under races
        raise Conflict(f"branch name {name!r} is already taken in this video") from exc
    return branch


async def create_branch(
    session: AsyncSession, *, owner: str, checkpoint_id: str, name: str | None = None
) -> Branch:
    """A new branch whose first checkpoint copies `checkpoint_id` as a PENDING sibling (rule 7)."""
    video, source, source_branch = await _locked_checkpoint(
        session, owner=owner, checkpoint_id=checkpoint_id
    )
    branch = await _new_branch(session, video, source, source_branch, name=name)
    copy = await add_checkpoint(
        session,
        video_id=video.id,
        branch_id=branch.id,
        parent_id=source.parent_id,
        phase=source.phase,
        input_ids=source.input_ids,
        edit_description=(
            f"Copied from checkpoint {source.id} (branch {source_branch.name}, "
            f"phase {source.phase} {Phase.of(source.phase).value}, version {source.version})"
        ),
    )
    for artifact in await latest_artifacts(session, source.id):
        session.add(
            Artifact(
                id=ids.new_id(ids.ARTIFACT),
                video_id=video.id,
                checkpoint_id=copy.id,
                type=artifact.type,
                key=artifact.key,
                version=1,
                previous_version_id=artifact.id,
                sha256=artifact.sha256,
                content_type=artifact.content_type,
                size_bytes=artifact.size_bytes,
                data=artifact.data,
                meta={**artifact.meta, "copiedFrom": artifact.id},
            )
        )  # cost stays with the source: copying generates nothing
    await set_branch_state(
        session,
        video=video,
        branch=branch,
        status=BranchStatus.PAUSED,
        phase=copy.phase,
        fraction=1.0,
    )
    await session.flush()
    record_checkpoint_created(session, video=video, checkpoint=copy, branch=branch)
    return branch
