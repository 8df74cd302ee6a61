"""Continue, retry and branch (SPEC rules 5–8): the next phase where the rules say, and forks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aivideo import ids
from aivideo.domain import continuation_rules as rules
from aivideo.domain.branch_naming import check_chosen_name, next_child_name
from aivideo.domain.events import record_checkpoint_created
from aivideo.domain.locking import lock_video_of
from aivideo.domain.progress import set_branch_state
from aivideo.domain.runs import queue_retry, queue_run
from aivideo.domain.tree import add_checkpoint, consumable_inputs, latest_artifacts
from aivideo.errors import Conflict
from aivideo.models import (
    Artifact,
    Branch,
    BranchStatus,
    Checkpoint,
    CheckpointStatus,
    Phase,
    Run,
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
    """Approve the checkpoint and queue the next phase where rule 5 says."""
    video, checkpoint, branch = await _locked_checkpoint(
        session, owner=owner, checkpoint_id=checkpoint_id
    )
    decision = await _plan_continue(session, video=video, checkpoint=checkpoint)
    if isinstance(decision, rules.Refuse):
        raise decision.exception()
    if checkpoint.approved_at is None:
        checkpoint.approved_at = utcnow()
    checkpoint.status = CheckpointStatus.APPROVED.value
    next_phase = checkpoint.phase + 1

    if branch_name is not None or isinstance(decision, rules.NewBranch):
        target = await _new_branch(session, video, checkpoint, branch, name=branch_name)
        await queue_run(session, video=video, branch=target, phase=next_phase, parent=checkpoint)
        return ContinueOutcome(checkpoint, target, next_phase, True)
    target = await _branch(session, decision.branch_id)
    if not isinstance(decision, rules.AlreadyServed):
        await queue_run(session, video=video, branch=target, phase=next_phase, parent=checkpoint)
    return ContinueOutcome(checkpoint, target, next_phase, False)


async def _plan_continue(
    session: AsyncSession, *, video: Video, checkpoint: Checkpoint
) -> rules.Decision:
    """Load what rule 5 decides over (under the video lock) and ask the planner."""
    on_branch = await session.scalars(
        select(Checkpoint).where(col(Checkpoint.branch_id) == checkpoint.branch_id)
    )
    return rules.plan_continue(
        checkpoint=checkpoint,
        branch_checkpoints=list(on_branch),
        runs=await _runs_of(session, video.id),
        current_inputs=[a.id for a in await consumable_inputs(session, checkpoint)],
    )


async def retry_branch(session: AsyncSession, *, owner: str, branch_id: str) -> Branch:
    """Queue the branch's failed or cancelled last run again, on it, with the same inputs."""
    video = await lock_video_of(session, model=Branch, row_id=branch_id, owner=owner, kind="branch")
    branch = await _branch(session, branch_id)
    runs = await _runs_of(session, video.id)
    decision = rules.plan_retry(branch=branch, runs=runs)
    if isinstance(decision, rules.Refuse):
        raise decision.exception()
    failed = next(r for r in runs if r.id == decision.run_id)
    await queue_retry(session, video=video, branch=branch, failed=failed)
    return branch


async def _runs_of(session: AsyncSession, video_id: str) -> list[Run]:
    """Every run of the video, in creation order (the order the read side sees too)."""
    return list(
        await session.scalars(
            select(Run)
            .where(col(Run.video_id) == video_id)
            .order_by(col(Run.created_at), col(Run.id))
        )
    )


async def _branch(session: AsyncSession, branch_id: str) -> Branch:
    branch = await session.get(Branch, branch_id, populate_existing=True)
    assert branch is not None  # found under the video lock
    return branch


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
