"""Subscription feeds: checkpoint creations (with replay) and video status changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from aivideo import models
from aivideo.domain.events import ALL_CHECKPOINTS, checkpoints_channel, status_channel
from aivideo.errors import BadUserInput
from aivideo.resolvers.lookups import owned_checkpoint, owned_video
from aivideo.schema.context import Info

Event = dict[str, Any]


async def checkpoint_events(
    info: Info, *, video_id: str | None, after: str | None
) -> AsyncIterator[Event]:
    """Live checkpoint events of the caller; with `after`, a replay first, then live.

    The live subscription opens before the replay query, and live events the replay
    already covered are skipped: no gap, no duplicate.
    """
    owner = info.context.owner
    replay_from: models.Checkpoint | None = None
    if video_id is not None:
        await owned_video(info, video_id)
    if after is not None:
        replay_from = await owned_checkpoint(info, after)
        if video_id is not None and replay_from.video_id != video_id:
            raise BadUserInput(f"checkpoint {after} belongs to another video than {video_id}")
        video_id = replay_from.video_id
    channel = checkpoints_channel(video_id) if video_id else ALL_CHECKPOINTS
    async with info.context.runtime.events.subscribe(channel) as live:
        last_seq = replay_from.seq if replay_from is not None else None
        if replay_from is not None:
            for event in await _replay(info, replay_from):
                last_seq = event["seq"]
                yield event
        async for event in live:
            if event["owner"] != owner:
                continue
            if last_seq is not None and event["videoId"] == video_id and event["seq"] <= last_seq:
                continue
            yield event


async def _replay(info: Info, after: models.Checkpoint) -> list[Event]:
    query = (
        select(models.Checkpoint, col(models.Branch.name))
        .join(models.Branch, col(models.Branch.id) == col(models.Checkpoint.branch_id))
        .where(
            col(models.Checkpoint.video_id) == after.video_id,
            col(models.Checkpoint.seq) > after.seq,
        )
        .order_by(col(models.Checkpoint.seq))
    )
    async with info.context.runtime.sessions() as session:
        rows = (await session.execute(query)).all()
    return [
        {
            "videoId": cp.video_id,
            "checkpointId": cp.id,
            "seq": cp.seq,
            "phase": cp.phase,
            "branchName": name,
            "owner": info.context.owner,
        }
        for cp, name in rows
    ]


async def status_events(info: Info, *, video_id: str) -> AsyncIterator[Event]:
    """The video's current status at once, then every status or progress change.

    The live subscription opens before the current row is read, so no change falls
    between the two; a live event equal to the one just sent is not repeated.
    """
    await owned_video(info, video_id)
    async with info.context.runtime.events.subscribe(status_channel(video_id)) as live:
        current = await _current_status(info, video_id)
        if current is None:
            return  # deleted between the ownership check and now
        yield current
        last = _state_of(current)
        async for event in live:
            if event["owner"] != info.context.owner or _state_of(event) == last:
                continue
            last = _state_of(event)
            yield event


async def _current_status(info: Info, video_id: str) -> Event | None:
    # A fresh session, not the loaders: the snapshot must be read after subscribing.
    async with info.context.runtime.sessions() as session:
        video = await session.get(models.Video, video_id)
        if video is None:
            return None
        branch = (
            await session.get(models.Branch, video.active_branch_id)
            if video.active_branch_id
            else None
        )
    return {
        "videoId": video.id,
        "owner": video.owner,
        "status": video.status,
        "progress": video.progress,
        "currentPhase": video.current_phase,
        "branchName": branch.name if branch is not None else None,
    }


def _state_of(event: Event) -> tuple[object, ...]:
    return (event["status"], event["progress"], event["currentPhase"], event["branchName"])
