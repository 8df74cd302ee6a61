"""Subscription feeds: checkpoint creations (with replay) and video status changes.

For checkpoints the caller has already checked that the video or checkpoint exists for
`owner`; the status feed checks it in the same statement that reads the current status.
A feed carries events and filters live ones by owner.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import col

from aivideo import models
from aivideo.db import SessionMaker
from aivideo.domain.events import ALL_CHECKPOINTS, checkpoints_channel, status_channel
from aivideo.errors import NotFound
from aivideo.subscriptions.broker_base import EventBroker

Event = dict[str, Any]


async def checkpoint_events(
    *,
    events: EventBroker,
    sessions: SessionMaker,
    owner: str,
    video_id: str | None,
    after: models.Checkpoint | None,
) -> AsyncIterator[Event]:
    """Live checkpoint events of `owner`; with `after`, a replay first, then live.

    The live subscription opens before the replay query, and live events the replay
    already covered are skipped: no gap, no duplicate.
    """
    if after is not None:
        video_id = after.video_id
    channel = checkpoints_channel(video_id) if video_id else ALL_CHECKPOINTS
    async with events.subscribe(channel) as live:
        last_seq = after.seq if after is not None else None
        if after is not None:
            for event in await _replay(sessions, after, owner):
                last_seq = event["seq"]
                yield event
        async for event in live:
            if event["owner"] != owner:
                continue
            if last_seq is not None and event["videoId"] == video_id and event["seq"] <= last_seq:
                continue
            yield event


async def _replay(sessions: SessionMaker, after: models.Checkpoint, owner: str) -> list[Event]:
    query = (
        select(models.Checkpoint, col(models.Branch.name))
        .join(models.Branch, col(models.Branch.id) == col(models.Checkpoint.branch_id))
        .where(
            col(models.Checkpoint.video_id) == after.video_id,
            col(models.Checkpoint.seq) > after.seq,
        )
        .order_by(col(models.Checkpoint.seq))
    )
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    return [
        {
            "videoId": cp.video_id,
            "checkpointId": cp.id,
            "seq": cp.seq,
            "phase": cp.phase,
            "branchName": name,
            "owner": owner,
        }
        for cp, name in rows
    ]


async def status_events(
    *, events: EventBroker, sessions: SessionMaker, owner: str, video_id: str
) -> AsyncIterator[Event]:
    """The video's current status at once, then every status or progress change.

    The live subscription opens before the current row is read, so no change falls
    between the two; a live event equal to the one just sent is not repeated. Another
    owner's video, or none, is NOT_FOUND (raised before anything is yielded).
    """
    async with events.subscribe(status_channel(video_id)) as live:
        current = await _current_status(sessions, video_id, owner)
        if current is None:
            raise NotFound.of("video", video_id)
        yield current
        last = _state_of(current)
        async for event in live:
            if event["owner"] != owner or _state_of(event) == last:
                continue
            last = _state_of(event)
            yield event


# The ownership check and the current status in one statement (the branch gives its name).
_CURRENT_STATUS = (
    select(
        col(models.Video.id),
        col(models.Video.status),
        col(models.Video.progress),
        col(models.Video.current_phase),
        col(models.Branch.name),
    )
    .outerjoin(models.Branch, col(models.Branch.id) == col(models.Video.active_branch_id))
    .where(
        col(models.Video.id) == bindparam("video_id"),
        col(models.Video.owner) == bindparam("owner"),
    )
)


async def _current_status(sessions: SessionMaker, video_id: str, owner: str) -> Event | None:
    # A fresh session, not the loaders: the snapshot must be read after subscribing.
    async with sessions() as session:
        row = (
            await session.execute(_CURRENT_STATUS, {"video_id": video_id, "owner": owner})
        ).first()
    if row is None:
        return None
    return {
        "videoId": row[0],
        "owner": owner,
        "status": row[1],
        "progress": row[2],
        "currentPhase": row[3],
        "branchName": row[4],
    }


def _state_of(event: Event) -> tuple[object, ...]:
    return (event["status"], event["progress"], event["currentPhase"], event["branchName"])
