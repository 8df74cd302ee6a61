"""The Checkpoint type: a phase's stored result, awaiting review."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from aivideo import models
from aivideo.schema.artifact import Artifact
from aivideo.schema.context import Info
from aivideo.schema.graph_access import graph_of
from aivideo.schema.node import ArtifactType, CheckpointStatus, Node, Phase

if TYPE_CHECKING:
    from aivideo.schema.branch import Branch
    from aivideo.schema.video import Video

VideoRef = Annotated["Video", strawberry.lazy("aivideo.schema.video")]
BranchRef = Annotated["Branch", strawberry.lazy("aivideo.schema.branch")]


@strawberry.type(description="The stored result of one phase on one branch.")
class Checkpoint(Node):
    row: strawberry.Private[models.Checkpoint]

    @classmethod
    def of(cls, row: models.Checkpoint) -> Checkpoint:
        return cls(id=strawberry.ID(row.id), row=row)

    @classmethod
    def maybe(cls, row: models.Checkpoint | None) -> Checkpoint | None:
        return cls.of(row) if row is not None else None

    @strawberry.field
    async def video(self, info: Info) -> VideoRef:
        from aivideo.schema.video import Video

        row = await info.context.loaders.video_by_id.load(self.row.video_id)
        assert row is not None  # a checkpoint never outlives its video
        return Video.of(row)

    @strawberry.field
    async def branch(self, info: Info) -> BranchRef:
        from aivideo.schema.branch import Branch

        graph = await graph_of(info, self.row.video_id)
        return Branch.of(graph.branch_by_id[self.row.branch_id])

    @strawberry.field
    async def branch_name(self, info: Info) -> str:
        graph = await graph_of(info, self.row.video_id)
        return graph.branch_by_id[self.row.branch_id].name

    @strawberry.field(description="1..4")
    def phase(self) -> int:
        return self.row.phase

    @strawberry.field
    def phase_name(self) -> Phase:
        return models.Phase.of(self.row.phase)

    @strawberry.field(description="1, or more when the same branch re-ran this phase.")
    def version(self) -> int:
        return self.row.version

    @strawberry.field
    def status(self) -> CheckpointStatus:
        return CheckpointStatus(self.row.status)

    @strawberry.field(description="Some artifact here has version > 1.")
    async def edited(self, info: Info) -> bool:
        return (await graph_of(info, self.row.video_id)).edited(self.row.id)

    @strawberry.field
    def edit_description(self) -> str | None:
        return self.row.edit_description

    @strawberry.field
    async def cost_usd(self, info: Info) -> float:
        return (await graph_of(info, self.row.video_id)).cost(self.row.id)

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field
    def approved_at(self) -> datetime | None:
        return self.row.approved_at

    @strawberry.field
    async def parent(self, info: Info) -> Checkpoint | None:
        if self.row.parent_id is None:
            return None
        graph = await graph_of(info, self.row.video_id)
        return Checkpoint.maybe(graph.checkpoint_by_id.get(self.row.parent_id))

    @strawberry.field(description="Toward the leaves, oldest first.")
    async def children(self, info: Info) -> list[Checkpoint]:
        graph = await graph_of(info, self.row.video_id)
        return [Checkpoint.of(c) for c in graph.children(self.row.id)]

    @strawberry.field(description="The exact artifact versions this phase consumed.")
    async def inputs(self, info: Info) -> list[Artifact]:
        graph = await graph_of(info, self.row.video_id)
        found = (graph.artifact_by_id.get(id_) for id_ in self.row.input_ids)
        return [Artifact.of(a) for a in found if a is not None]

    @strawberry.field(description="Latest version of each key, by key.")
    async def artifacts(self, info: Info, type: ArtifactType | None = None) -> list[Artifact]:
        graph = await graph_of(info, self.row.video_id)
        latest = graph.latest(self.row.id)
        return [Artifact.of(a) for a in latest if type is None or a.type == type.value]

    @strawberry.field(description="Latest version of one key.")
    async def artifact(self, info: Info, key: str) -> Artifact | None:
        graph = await graph_of(info, self.row.video_id)
        return Artifact.maybe(next((a for a in graph.latest(self.row.id) if a.key == key), None))
