"""Work a transaction asks for once it commits: events to publish, jobs to queue, files to drop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

_KEY = "aivideo.effects"


@dataclass
class Effects:
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)
    orphan_candidates: set[str] = field(default_factory=set)  # sha256 of files maybe unused now
    # (model id, prediction ids) of hosted calls to stop at their provider
    predictions_to_cancel: list[tuple[str, list[str]]] = field(default_factory=list)


def effects_of(session: AsyncSession) -> Effects:
    """The pending effects of the session's current transaction."""
    found = session.info.get(_KEY)
    if found is None:
        found = session.info[_KEY] = Effects()
    return found


def take_effects(session: AsyncSession) -> Effects:
    """Remove and return the pending effects (after commit, or to drop them on rollback)."""
    return session.info.pop(_KEY, None) or Effects()
