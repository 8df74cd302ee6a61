"""Creating, cancelling and deleting videos (SPEC rules 1, 9, 10)."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aivideo import ids
from aivideo.domain.branch_naming import MAIN
from aivideo.domain.budget import check_budget_value
from aivideo.domain.effects import effects_of
from aivideo.domain.events import record_video_status
from aivideo.domain.locking import lock_video
from aivideo.domain.runs import queue_run
from aivideo.errors import BadUserInput
from aivideo.models import (
    Artifact,
    Branch,
    BranchStatus,
    Checkpoint,
    CheckpointStatus,
    ProviderCall,
    Run,
    RunStatus,
    Video,
    VideoStatus,
)
from aivideo.models.columns import utcnow

PROMPT_LENGTH = (10, 1000)
TITLE_MAX = 200
DURATION_RANGE = (10, 120)


def _clean_prompt(prompt: str) -> str:
    prompt = prompt.strip()
    low, high = PROMPT_LENGTH
    if not low <= len(prompt) <= high:
        raise BadUserInput(
            f"prompt must be {low} to {high} characters after trimming; it has {len(prompt)}"
        )
    return prompt


def _clean_title(title: str | None, prompt: str) -> str:
    if title is not None and title.strip():
        title = " ".join(title.split())
        if len(title) > TITLE_MAX:
            raise BadUserInput(f"title must be at most {TITLE_MAX} characters; it has {len(title)}")
        return title
    first_line = " ".join(prompt.split())
    if len(first_line) <= 60:
        return first_line
    return first_line[:60].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


def _check_duration(duration: int) -> int:
    low, high = DURATION_RANGE
    if not low <= duration <= high or duration % 5:
        raise BadUserInput(
            f"durationSeconds must be {low} to {high} and a multiple of 5; got {duration}"
        )
    return duration


async def create_video(
    session: AsyncSession,
    *,
    owner: str,
    prompt: str,
    title: str | None,
    duration_seconds: int,
    auto_continue: bool,
    generation: dict[str, str],
    budget_usd: float | None,
) -> Video:
    """A new video with branch `main` and its phase-1 run queued.

    `generation` holds the checked model id of each phase; `budget_usd` caps what its
    provider calls may cost (None: no cap).
    """
    prompt = _clean_prompt(prompt)
    video = Video(
        id=ids.new_id(ids.VIDEO),
        owner=owner,
        title=_clean_title(title, prompt),
        prompt=prompt,
        duration_seconds=_check_duration(duration_seconds),
        auto_continue=auto_continue,
        generation=dict(generation),
        budget_usd=check_budget_value(budget_usd),
        status=VideoStatus.QUEUED.value,
    )
    branch = Branch(
        id=ids.new_id(ids.BRANCH),
        video_id=video.id,
        name=MAIN,
        status=BranchStatus.QUEUED.value,
        phase=1,
    )
    session.add(video)
    await session.flush()
    session.add(branch)
    await session.flush()
    await queue_run(session, video=video, branch=branch, phase=1, parent=None)
    return video


async def cancel_video(session: AsyncSession, *, owner: str, video_id: str) -> Video:
    """Stop queued and running work of every branch; PENDING checkpoints become ABANDONED."""
    video = await lock_video(session, video_id=video_id, owner=owner)
    stopped = await session.execute(
        update(Run)
        .where(
            col(Run.video_id) == video.id,
            col(Run.status).in_([RunStatus.QUEUED, RunStatus.RUNNING]),
        )
        .values(status=RunStatus.CANCELLED.value, finished_at=utcnow(), error="cancelled")
        .returning(col(Run.id))
    )
    abandoned = await session.execute(
        update(Checkpoint)
        .where(
            col(Checkpoint.video_id) == video.id,
            col(Checkpoint.status) == CheckpointStatus.PENDING,
        )
        .values(status=CheckpointStatus.ABANDONED.value)
        .returning(col(Checkpoint.id))
    )
    if not stopped.all() and not abandoned.all():
        return video  # nothing was waiting or running: cancelling changes nothing
    in_flight = await session.scalars(
        select(ProviderCall).where(
            col(ProviderCall.video_id) == video.id,
            col(ProviderCall.status).in_(["reserved", "running"]),
        )
    )
    effects_of(session).predictions_to_cancel.extend(
        (call.model or "", list(call.prediction_ids)) for call in in_flight if call.prediction_ids
    )
    live = [BranchStatus.QUEUED, BranchStatus.RUNNING, BranchStatus.PAUSED]
    branches = await session.scalars(
        select(Branch).where(col(Branch.video_id) == video.id, col(Branch.status).in_(live))
    )
    for branch in branches:
        branch.status, branch.updated_at = BranchStatus.CANCELLED.value, utcnow()
    video.status, video.error, video.updated_at = VideoStatus.CANCELLED.value, None, utcnow()
    record_video_status(session, video=video, branch_name=None)
    return video


async def delete_video(session: AsyncSession, *, owner: str, video_id: str) -> None:
    """Remove the video and all its rows; its files go once no other video uses them."""
    video = await lock_video(session, video_id=video_id, owner=owner)
    shas = await session.scalars(
        select(col(Artifact.sha256)).where(
            col(Artifact.video_id) == video.id, col(Artifact.sha256).is_not(None)
        )
    )
    effects_of(session).orphan_candidates.update(s for s in shas if s)
    # Children before parents, so SQLite (no deferred constraints) is happy too.
    for model in (Artifact, Run, Checkpoint, Branch):
        await session.execute(delete(model).where(col(model.video_id) == video.id))
    await session.execute(delete(Video).where(col(Video.id) == video.id))
