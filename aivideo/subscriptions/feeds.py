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
    """Every status or progress change of one of the caller's videos."""
    await owned_video(info, video_id)
    async with info.context.runtime.events.subscribe(status_channel(video_id)) as live:
        async for event in live:
            if event["owner"] == info.context.owner:
                yield event
