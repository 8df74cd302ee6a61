"""Per-video write lock: every change to a video's tree starts by taking it.

The lock is an UPDATE of the video row as the transaction's first statement: a row
lock on PostgreSQL, the database write lock on SQLite. Both serialise writers of one
video, so the rules below see a stable tree while they decide. The same UPDATE counts
the video's revision up, which tells cached answers (schema/cached_answers.py) that the
tree may have changed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aivideo.errors import NotFound
from aivideo.models import Video
from aivideo.models.columns import utcnow


async def _lock(session: AsyncSession, condition: Any) -> Video | None:
    locked = await session.scalar(
        update(Video)
        .where(condition)
        .values(updated_at=utcnow(), revision=col(Video.revision) + 1)
        .returning(col(Video.id))
    )
    if locked is None:
        return None
    return await session.get(Video, locked, populate_existing=True)


async def lock_video(session: AsyncSession, *, video_id: str, owner: str | None) -> Video:
    """Lock and return the video; NotFound when it does not exist for `owner` (None: any)."""
    condition = col(Video.id) == video_id
    if owner is not None:
        condition = condition & (col(Video.owner) == owner)
    video = await _lock(session, condition)
    if video is None:
        raise NotFound.of("video", video_id)
    return video


async def lock_video_of(
    session: AsyncSession, *, model: Any, row_id: str, owner: str | None, kind: str
) -> Video:
    """Lock the video that row `row_id` of `model` belongs to (one statement, so no race)."""
    condition = (
        col(Video.id)
        == select(col(model.video_id)).where(col(model.id) == row_id).scalar_subquery()
    )
    if owner is not None:
        condition = condition & (col(Video.owner) == owner)
    video = await _lock(session, condition)
    if video is None:
        raise NotFound.of(kind, row_id)
    return video
