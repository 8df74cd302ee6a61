"""The Branch type: a line of checkpoints, forked from a checkpoint of another branch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from aivideo import models
from aivideo.schema.artifact import Artifact
from aivideo.schema.checkpoint import Checkpoint
from aivideo.schema.context import Info
from aivideo.schema.graph_access import graph_of
from aivideo.schema.node import BranchStatus, Node

if TYPE_CHECKING:
    from aivideo.schema.video import Video

VideoRef = Annotated["Video", strawberry.lazy("aivideo.schema.video")]


@strawberry.type(description="A line of checkpoints: main, main-1, main-1-1 or a chosen name.")
class Branch(Node):
    row: strawberry.Private[models.Branch]

    @classmethod
    def of(cls, row: models.Branch) -> Branch:
        return cls(id=strawberry.ID(row.id), row=row)

    @strawberry.field
    def name(self) -> str:
        return self.row.name

    @strawberry.field
    async def video(self, info: Info) -> VideoRef:
        from aivideo.schema.video import Video

        row = await info.context.loaders.video_by_id.load(self.row.video_id)
        assert row is not None
        return Video.of(row)

    @strawberry.field
    def status(self) -> BranchStatus:
        return BranchStatus(self.row.status)

    @strawberry.field(description="Phase of its head checkpoint, or of the phase running.")
    def phase(self) -> int | None:
        return self.row.phase

    @strawberry.field
    def progress(self) -> float:
        return self.row.progress

    @strawberry.field
    async def can_continue(self, info: Info) -> bool:
        return (await graph_of(info, self.row.video_id)).can_continue(self.row)

    @strawberry.field(
        description="Its last run failed or was cancelled and nothing runs: retryBranch queues it."
    )
    async def can_retry(self, info: Info) -> bool:
        return (await graph_of(info, self.row.video_id)).can_retry(self.row)

    @strawberry.field
    def error(self) -> str | None:
        return self.row.error

    @strawberry.field(description="Newest checkpoint on this branch.")
    async def head(self, info: Info) -> Checkpoint | None:
        return Checkpoint.maybe((await graph_of(info, self.row.video_id)).head(self.row.id))

    @strawberry.field(description="Null for main.")
    async def forked_from(self, info: Info) -> Checkpoint | None:
        if self.row.forked_from_id is None:
            return None
        graph = await graph_of(info, self.row.video_id)
        return Checkpoint.maybe(graph.checkpoint_by_id.get(self.row.forked_from_id))

    @strawberry.field
    async def parent_branch(self, info: Info) -> Branch | None:
        if self.row.parent_branch_id is None:
            return None
        graph = await graph_of(info, self.row.video_id)
        parent = graph.branch_by_id.get(self.row.parent_branch_id)
        return Branch.of(parent) if parent is not None else None

    @strawberry.field
    async def child_branches(self, info: Info) -> list[Branch]:
        graph = await graph_of(info, self.row.video_id)
        return [Branch.of(b) for b in graph.child_branches(self.row.id)]

    @strawberry.field(description="Oldest first.")
    async def checkpoints(self, info: Info) -> list[Checkpoint]:
        graph = await graph_of(info, self.row.video_id)
        return [Checkpoint.of(c) for c in graph.branch_checkpoints(self.row.id)]

    @strawberry.field
    async def final_video(self, info: Info) -> Artifact | None:
        return Artifact.maybe(
            (await graph_of(info, self.row.video_id)).final_of_branch(self.row.id)
        )
