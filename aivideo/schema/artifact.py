"""The Artifact type: one immutable version of one key on a checkpoint."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from aivideo import models
from aivideo.schema.context import Info
from aivideo.schema.graph_access import graph_of
from aivideo.schema.node import ArtifactType, Node

if TYPE_CHECKING:
    from aivideo.schema.checkpoint import Checkpoint

CheckpointRef = Annotated["Checkpoint", strawberry.lazy("aivideo.schema.checkpoint")]


@strawberry.type(description="One immutable version of an artifact key on a checkpoint.")
class Artifact(Node):
    row: strawberry.Private[models.Artifact]

    @classmethod
    def of(cls, row: models.Artifact) -> Artifact:
        return cls(id=strawberry.ID(row.id), row=row)

    @classmethod
    def maybe(cls, row: models.Artifact | None) -> Artifact | None:
        return cls.of(row) if row is not None else None

    @strawberry.field
    async def checkpoint(self, info: Info) -> CheckpointRef:
        from aivideo.schema.checkpoint import Checkpoint

        graph = await graph_of(info, self.row.video_id)
        return Checkpoint.of(graph.checkpoint_by_id[self.row.checkpoint_id])

    @strawberry.field
    def type(self) -> ArtifactType:
        return ArtifactType(self.row.type)

    @strawberry.field
    def key(self) -> str:
        return self.row.key

    @strawberry.field
    def version(self) -> int:
        return self.row.version

    @strawberry.field(description="Fetchable over HTTP; null only for SPEC.")
    def url(self, info: Info) -> str | None:
        if self.row.sha256 is None:
            return None
        return info.context.media_url(self.row.sha256, self.row.content_type)

    @strawberry.field
    def content_type(self) -> str | None:
        return self.row.content_type

    @strawberry.field
    def size_bytes(self) -> int | None:
        return self.row.size_bytes

    @strawberry.field
    def sha256(self) -> str | None:
        return self.row.sha256

    @strawberry.field(description="The spec body, for SPEC artifacts.")
    def data(self) -> JSON | None:
        return self.row.data

    @strawberry.field
    def metadata(self) -> JSON:
        return JSON(self.row.meta)

    @strawberry.field(description="What making this version cost.")
    def cost_usd(self) -> float:
        return self.row.cost_usd

    @strawberry.field(description="The model id that made it; null for uploads and edits.")
    def model(self) -> str | None:
        return self.row.model

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field
    async def previous_version(self, info: Info) -> Artifact | None:
        if self.row.previous_version_id is None:
            return None
        graph = await graph_of(info, self.row.video_id)
        return Artifact.maybe(graph.artifact_by_id.get(self.row.previous_version_id))

    @strawberry.field(description="Every version of this key on this checkpoint, newest first.")
    async def versions(self, info: Info) -> list[Artifact]:
        graph = await graph_of(info, self.row.video_id)
        return [Artifact.of(a) for a in graph.versions(self.row)]
