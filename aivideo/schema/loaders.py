"""Per-request DataLoaders. Each batch opens its own short session (loaders run concurrently)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
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

    def __init__(self, sessions: SessionMaker) -> None:
        self.video_by_id = _by_id_loader(sessions, Video)
        self.checkpoint_by_id = _by_id_loader(sessions, Checkpoint)
        self.artifact_by_id = _by_id_loader(sessions, Artifact)
        self.branch_by_id = _by_id_loader(sessions, Branch)
        self.graph_by_video_id = _graph_loader(sessions)
