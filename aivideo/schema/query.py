"""The Query root."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from aivideo import ids
from aivideo.errors import NotFound
from aivideo.resolvers import lookups, videos
from aivideo.schema.artifact import Artifact
from aivideo.schema.branch import Branch
from aivideo.schema.checkpoint import Checkpoint
from aivideo.schema.context import Info
from aivideo.schema.generation import ModelInfo, ModelKind
from aivideo.schema.node import Node, VideoStatus
from aivideo.schema.video import Video


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class VideoEdge:
    cursor: str
    node: Video


@strawberry.type
class VideoConnection:
    edges: list[VideoEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its prefixed ID (vid-, cp-, art-, br-).")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        match ids.prefix_of(id):
            case ids.VIDEO:
                return Video.of(await lookups.owned_video(info, id))
            case ids.CHECKPOINT:
                return Checkpoint.of(await lookups.owned_checkpoint(info, id))
            case ids.ARTIFACT:
                return Artifact.of(await lookups.owned_artifact(info, id))
            case ids.BRANCH:
                return Branch.of(await lookups.owned_branch(info, id))
        raise NotFound.of("node", id)

    @strawberry.field
    async def video(self, info: Info, id: strawberry.ID) -> Video | None:
        return Video.of(await lookups.owned_video(info, id))

    @strawberry.field(description="Your videos, newest first.")
    async def videos(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: VideoStatus | None = None,
    ) -> VideoConnection:
        page = await videos.list_videos(
            info, first=20 if first is None else first, after=after, status=status
        )
        edges = [VideoEdge(cursor=videos.encode_cursor(v), node=Video.of(v)) for v in page.rows]
        return VideoConnection(
            edges=edges,
            total_count=page.total,
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
        )

    @strawberry.field
    async def checkpoint(self, info: Info, id: strawberry.ID) -> Checkpoint | None:
        return Checkpoint.of(await lookups.owned_checkpoint(info, id))

    @strawberry.field
    async def artifact(self, info: Info, id: strawberry.ID) -> Artifact | None:
        return Artifact.of(await lookups.owned_artifact(info, id))

    @strawberry.field(description="Every model id this server knows, with prices.")
    def models(self, info: Info) -> list[ModelInfo]:
        _ = info.context.owner  # UNAUTHENTICATED without a valid key, as everywhere
        return [
            ModelInfo(id=m.id, kind=ModelKind(m.kind), available=m.available, price=JSON(m.price))
            for m in info.context.runtime.catalog.entries()
        ]
