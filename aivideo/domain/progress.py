"""Status and progress bookkeeping: a branch's state, mirrored onto its video (rule 11)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from aivideo.domain.events import record_video_status
from aivideo.models import FINAL_PHASE, Branch, BranchStatus, Video, VideoStatus
from aivideo.models.columns import utcnow

# Overall progress range (0..100) that each phase covers.
PHASE_RANGE = {1: (0.0, 20.0), 2: (20.0, 40.0), 3: (40.0, 90.0), 4: (90.0, 100.0)}

_RUNNING = {
    1: VideoStatus.PLANNING,
    2: VideoStatus.GENERATING_STORYBOARD,
    3: VideoStatus.GENERATING_CHUNKS,
    4: VideoStatus.REFINING,
}
_PAUSED = {
    1: VideoStatus.PAUSED_AT_PHASE1,
    2: VideoStatus.PAUSED_AT_PHASE2,
    3: VideoStatus.PAUSED_AT_PHASE3,
    4: VideoStatus.COMPLETE,
}


def overall_progress(phase: int, fraction: float) -> float:
    """Progress 0..100 when `fraction` (0..1) of `phase` is done."""
    start, end = PHASE_RANGE[phase]
    return round(start + (end - start) * min(max(fraction, 0.0), 1.0), 2)


def video_status_of(branch: Branch) -> VideoStatus:
    """The video status a branch in this state shows."""
    status, phase = BranchStatus(branch.status), branch.phase or 1
    if status is BranchStatus.QUEUED:
        return VideoStatus.QUEUED if phase == 1 else _RUNNING[phase]
    if status is BranchStatus.RUNNING:
        return _RUNNING[phase]
    if status is BranchStatus.PAUSED:
        return _PAUSED[phase]
    return VideoStatus(status.value)  # COMPLETE, FAILED, CANCELLED share their names


async def set_branch_state(
    session: AsyncSession,
    *,
    video: Video,
    branch: Branch,
    status: BranchStatus,
    phase: int,
    fraction: float,
    error: str | None = None,
) -> None:
    """Move a branch to a new state; the video shows it as its most recently active branch."""
    now = utcnow()
    branch.status, branch.phase, branch.error = status.value, phase, error
    branch.progress = (
        100.0 if status is BranchStatus.COMPLETE else overall_progress(phase, fraction)
    )
    branch.updated_at = now
    video.status = video_status_of(branch).value
    video.progress, video.current_phase, video.error = branch.progress, phase, error
    video.active_branch_id, video.updated_at = branch.id, now
    session.add_all([branch, video])
    record_video_status(session, video=video, branch_name=branch.name)


def paused_state(phase: int) -> BranchStatus:
    return BranchStatus.COMPLETE if phase == FINAL_PHASE else BranchStatus.PAUSED
