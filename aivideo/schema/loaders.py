"""Per-request DataLoaders. Each batch opens its own short session (loaders run concurrently)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy import select
from sqlmodel import col
from strawberry.dataloader import DataLoader

from aivideo.db import SessionMaker
from aivideo.domain.video_graph import VideoGraph
from aivideo.models import Artifact, Branch, Checkpoint, Run, Video

Row = TypeVar("Row", Video, Checkpoint, Artifact, Branch)


def _by_id_loader(sessions: SessionMaker, model: type[Row]) -> DataLoader[str, Row | None]:
    async def load(ids: Sequence[str]) -> list[Row | None]:
        async with sessions() as session:
            rows = {
                r.id: r for r in await session.scalars(select(model).where(col(model.id).in_(ids)))
            }
        return [rows.get(id_) for id_ in ids]

    return DataLoader(load_fn=load)


def _graph_loader(sessions: SessionMaker) -> DataLoader[str, VideoGraph]:
    async def load(video_ids: Sequence[str]) -> list[VideoGraph]:
        grouped: dict[type[Any], dict[str, list[Any]]] = {}
        async with sessions() as session:
            models: tuple[Any, ...] = (Checkpoint, Artifact, Branch, Run)
            for model in models:
                rows: dict[str, list[Any]] = defaultdict(list)
                query = select(model).where(col(model.video_id).in_(video_ids))
                for row in await session.scalars(
                    query.order_by(col(model.created_at), col(model.id))
                ):
                    rows[row.video_id].append(row)
                grouped[model] = rows
        return [
            VideoGraph(
                checkpoints=grouped[Checkpoint][vid],
                artifacts=grouped[Artifact][vid],
                branches=grouped[Branch][vid],
                runs=grouped[Run][vid],
            )
            for vid in video_ids
        ]

    return DataLoader(load_fn=load)


class Loaders:
    """`VideoByIdLoader`-style loaders by entity, plus the whole-tree `graph` by video id."""

    # Each made on first use: a subscription event refreshes them all, and most events
    # touch one or none.
    def __init__(self, sessions: SessionMaker) -> None:
        self._sessions = sessions

    @cached_property
    def video_by_id(self) -> DataLoader[str, Video | None]:
        return _by_id_loader(self._sessions, Video)

    @cached_property
    def checkpoint_by_id(self) -> DataLoader[str, Checkpoint | None]:
        return _by_id_loader(self._sessions, Checkpoint)

    @cached_property
    def artifact_by_id(self) -> DataLoader[str, Artifact | None]:
        return _by_id_loader(self._sessions, Artifact)

    @cached_property
    def branch_by_id(self) -> DataLoader[str, Branch | None]:
        return _by_id_loader(self._sessions, Branch)

    @cached_property
    def graph_by_video_id(self) -> DataLoader[str, VideoGraph]:
        return _graph_loader(self._sessions)
