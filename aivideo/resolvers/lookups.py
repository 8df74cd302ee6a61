"""Owner-scoped lookups: another owner's rows do not exist for the caller."""

from __future__ import annotations

from aivideo import models
from aivideo.errors import NotFound
from aivideo.schema.context import Info


async def owned_video(info: Info, video_id: str) -> models.Video:
    row = await info.context.loaders.video_by_id.load(video_id)
    if row is None or row.owner != info.context.owner:
        raise NotFound.of("video", video_id)
    return row


async def owned_checkpoint(info: Info, checkpoint_id: str) -> models.Checkpoint:
    row = await info.context.loaders.checkpoint_by_id.load(checkpoint_id)
    if row is None or not await _owns(info, row.video_id):
        raise NotFound.of("checkpoint", checkpoint_id)
    return row


async def owned_artifact(info: Info, artifact_id: str) -> models.Artifact:
    row = await info.context.loaders.artifact_by_id.load(artifact_id)
    if row is None or not await _owns(info, row.video_id):
        raise NotFound.of("artifact", artifact_id)
    return row


async def owned_branch(info: Info, branch_id: str) -> models.Branch:
    row = await info.context.loaders.branch_by_id.load(branch_id)
    if row is None or not await _owns(info, row.video_id):
        raise NotFound.of("branch", branch_id)
    return row


async def _owns(info: Info, video_id: str) -> bool:
    video = await info.context.loaders.video_by_id.load(video_id)
    return video is not None and video.owner == info.context.owner
