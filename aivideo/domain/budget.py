"""The budget rule: a paid call that would take a video over its budget is not made."""

from __future__ import annotations

import math

from sqlalchemy.ext.asyncio import AsyncSession

from aivideo.domain.locking import lock_video
from aivideo.errors import BadUserInput, BudgetExceeded
from aivideo.models import Video

# Float sums of prices in USD: a hair over is rounding, not spending.
_EPSILON = 1e-9


def require_room(video: Video, usd: float, *, what: str) -> None:
    """BUDGET_EXCEEDED, naming spent, needed and budget, when `usd` more would not fit."""
    if video.budget_usd is None or usd <= 0:
        return
    if video.spent_usd + usd > video.budget_usd + _EPSILON:
        raise BudgetExceeded(
            f"budget exceeded: video {video.id} has spent ${video.spent_usd:.4f} of its "
            f"${video.budget_usd:.4f} budget and {what} needs ${usd:.4f} more; "
            "raise the budget with setBudget to go on"
        )


def check_budget_value(budget_usd: float | None) -> float | None:
    if budget_usd is not None and (not math.isfinite(budget_usd) or budget_usd < 0):
        raise BadUserInput(f"budgetUsd must be a number of USD >= 0, or null; got {budget_usd}")
    return budget_usd


async def set_budget(
    session: AsyncSession, *, owner: str, video_id: str, budget_usd: float | None
) -> Video:
    """Set (or remove, with None) the video's budget."""
    video = await lock_video(session, video_id=video_id, owner=owner)
    video.budget_usd = check_budget_value(budget_usd)
    session.add(video)
    return video
