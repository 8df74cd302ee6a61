"""The Video type: a prompt, its branches and checkpoint tree."""

from __future__ import annotations

from datetime import datetime

import strawberry

from aivideo import models
from aivideo.models.columns import utcnow
from aivideo.schema.artifact import Artifact
from aivideo.schema.branch import Branch
from aivideo.schema.checkpoint import Checkpoint
from aivideo.schema.context import Info
from aivideo.schema.generation import Generation
from aivideo.schema.graph_access import graph_of
from aivideo.schema.node import Node, VideoStatus


@strawberry.type(description="A video being generated, with its review tree.")
class Video(Node):
    row: strawberry.Private[models.Video]

    @classmethod
    def of(cls, row: models.Video) -> Video:
        return cls(id=strawberry.ID(row.id), row=row)

    @strawberry.field
    def title(self) -> str:
        return self.row.title

    @strawberry.field
    def prompt(self) -> str:
        return self.row.prompt

    @strawberry.field
    def duration_seconds(self) -> int:
        return self.row.duration_seconds

    @strawberry.field
    def auto_continue(self) -> bool:
        return self.row.auto_continue

    @strawberry.field(description="Of the most recently active branch.")
    def status(self) -> VideoStatus:
        return VideoStatus(self.row.status)

    @strawberry.field(description="0..100, of the most recently active branch.")
    def progress(self) -> float:
        return self.row.progress

    @strawberry.field(description="1..4, or null before phase 1 starts.")
    def current_phase(self) -> int | None:
        if self.row.status == models.VideoStatus.QUEUED.value:
            return None
        return self.row.current_phase

    @strawberry.field
    def error(self) -> str | None:
        return self.row.error

    @strawberry.field(description="Seconds, null when unknown or finished.")
    async def estimated_time_remaining(self, info: Info) -> int | None:
        graph = await graph_of(info, self.row.id)
        seconds = graph.seconds_remaining(self.row.active_branch_id, utcnow())
        if seconds is not None:
            info.context.depends_on_clock = True
        return seconds

    @strawberry.field(
        description="All phases, all branches, all regenerations: what its provider calls cost."
    )
    def cost_usd(self) -> float:
        return round(self.row.spent_usd, 6)

    @strawberry.field(description="Null: no budget.")
    def budget_usd(self) -> float | None:
        return self.row.budget_usd

    @strawberry.field(description="The models this video uses, defaults filled in.")
    def generation(self) -> Generation:
        return Generation.of(self.row.generation)

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field
    def updated_at(self) -> datetime:
        return self.row.updated_at

    @strawberry.field(description="Newest PENDING checkpoint over all branches.")
    async def current_checkpoint(self, info: Info) -> Checkpoint | None:
        return Checkpoint.maybe((await graph_of(info, self.row.id)).current_checkpoint())

    @strawberry.field(description="The roots; recurse with Checkpoint.children.")
    async def checkpoint_tree(self, info: Info) -> list[Checkpoint]:
        return [Checkpoint.of(c) for c in (await graph_of(info, self.row.id)).roots()]

    @strawberry.field(description="Flat, oldest first.")
    async def checkpoints(
        self, info: Info, branch_name: str | None = None, phase: int | None = None
    ) -> list[Checkpoint]:
        graph = await graph_of(info, self.row.id)
        return [
            Checkpoint.of(c)
            for c in graph.checkpoints
            if (branch_name is None or graph.branch_by_id[c.branch_id].name == branch_name)
            and (phase is None or c.phase == phase)
        ]

    @strawberry.field
    async def branches(self, info: Info) -> list[Branch]:
        return [Branch.of(b) for b in (await graph_of(info, self.row.id)).branches]

    @strawberry.field(description="Status QUEUED, RUNNING, PAUSED or FAILED.")
    async def active_branches(self, info: Info) -> list[Branch]:
        return [Branch.of(b) for b in (await graph_of(info, self.row.id)).active_branches()]

    @strawberry.field(description="FINAL_VIDEO of the most recently completed branch.")
    async def final_video(self, info: Info) -> Artifact | None:
        return Artifact.maybe((await graph_of(info, self.row.id)).final_video())
