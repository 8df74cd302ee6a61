"""Event channels and payloads published after commit, consumed by the subscriptions."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aivideo.domain.effects import effects_of
from aivideo.models import Branch, Checkpoint, Video

ALL_CHECKPOINTS = "checkpoints"


def checkpoints_channel(video_id: str) -> str:
    return f"video.{video_id}.checkpoints"


def status_channel(video_id: str) -> str:
    return f"video.{video_id}.status"


def record_checkpoint_created(
    session: AsyncSession, *, video: Video, checkpoint: Checkpoint, branch: Branch
) -> None:
    event = {
        "videoId": video.id,
        "owner": video.owner,
        "checkpointId": checkpoint.id,
        "seq": checkpoint.seq,
        "phase": checkpoint.phase,
        "branchName": branch.name,
    }
    pending = effects_of(session).events
    pending.append((checkpoints_channel(video.id), event))
    pending.append((ALL_CHECKPOINTS, event))


def record_video_status(session: AsyncSession, *, video: Video, branch_name: str | None) -> None:
    event: dict[str, Any] = {
        "videoId": video.id,
        "owner": video.owner,
        "status": video.status,
        "progress": video.progress,
        "currentPhase": video.current_phase,
        "branchName": branch_name,
    }
    effects_of(session).events.append((status_channel(video.id), event))
