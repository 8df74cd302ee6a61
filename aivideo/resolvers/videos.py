"""Video queries and mutations: list, create, cancel, delete."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlmodel import col

from aivideo import models
from aivideo.domain import budget, videos
from aivideo.errors import BadUserInput
from aivideo.schema.context import Info


@dataclass(frozen=True)
class VideoPage:
    rows: list[models.Video]
    total: int
    has_next: bool


def encode_cursor(video: models.Video) -> str:
    return base64.urlsafe_b64encode(f"{video.created_at.isoformat()}|{video.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        stamp, video_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(stamp), video_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadUserInput(f"after {cursor!r} is not a cursor from this API") from exc


async def list_videos(
    info: Info, *, first: int, after: str | None, status: models.VideoStatus | None
) -> VideoPage:
    """The caller's videos, newest first, `first` at a time."""
    limit = info.context.runtime.settings.videos_max_page
    if not 0 <= first <= limit:
        raise BadUserInput(f"first must be between 0 and {limit}; got {first}")
    owned = col(models.Video.owner) == info.context.owner
    if status is not None:
        owned = and_(owned, col(models.Video.status) == status.value)
    query = select(models.Video).where(owned)
    if after is not None:
        stamp, video_id = _decode_cursor(after)
        query = query.where(
            or_(
                col(models.Video.created_at) < stamp,
                and_(col(models.Video.created_at) == stamp, col(models.Video.id) < video_id),
            )
        )
    query = query.order_by(col(models.Video.created_at).desc(), col(models.Video.id).desc()).limit(
        first + 1
    )
    async with info.context.runtime.sessions() as session:
        rows = list(await session.scalars(query))
        total = await session.scalar(select(func.count()).select_from(models.Video).where(owned))
    return VideoPage(rows=rows[:first], total=total or 0, has_next=len(rows) > first)


async def create_video(
    info: Info,
    *,
    prompt: str,
    title: str | None,
    duration_seconds: int,
    auto_continue: bool,
    generation: dict[str, str | None],
    budget_usd: float | None,
) -> models.Video:
    runtime = info.context.runtime
    await runtime.limiter.spend(info.context.owner)
    # Checked here, so a model that cannot work fails now, not minutes later in a job.
    models_used = runtime.catalog.generation(generation)
    if budget_usd is None:
        budget_usd = runtime.settings.default_budget_usd
    async with runtime.transaction() as session:
        return await videos.create_video(
            session,
            owner=info.context.owner,
            prompt=prompt,
            title=title,
            duration_seconds=duration_seconds,
            auto_continue=auto_continue,
            generation=models_used,
            budget_usd=budget_usd,
        )


async def cancel_video(info: Info, video_id: str) -> models.Video:
    async with info.context.runtime.transaction() as session:
        return await videos.cancel_video(session, owner=info.context.owner, video_id=video_id)


async def delete_video(info: Info, video_id: str) -> bool:
    async with info.context.runtime.transaction() as session:
        await videos.delete_video(session, owner=info.context.owner, video_id=video_id)
    return True


async def set_budget(info: Info, video_id: str, budget_usd: float | None) -> models.Video:
    async with info.context.runtime.transaction() as session:
        return await budget.set_budget(
            session, owner=info.context.owner, video_id=video_id, budget_usd=budget_usd
        )
