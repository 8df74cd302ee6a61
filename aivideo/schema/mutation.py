"""The Mutation root: thin wrappers over the resolvers and domain."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON

from aivideo.resolvers import checkpoints, videos
from aivideo.schema.artifact import Artifact
from aivideo.schema.branch import Branch
from aivideo.schema.checkpoint import Checkpoint
from aivideo.schema.context import Info
from aivideo.schema.generation import GenerationInput
from aivideo.schema.video import Video


@strawberry.input
class CreateVideoInput:
    prompt: str = strawberry.field(description="10..1000 characters after trimming.")
    title: str | None = strawberry.field(default=None, description="At most 200 characters.")
    duration_seconds: int | None = strawberry.field(
        default=30, description="10..120, a multiple of 5."
    )
    auto_continue: bool | None = strawberry.field(
        default=False, description="YOLO mode: approve every checkpoint and go on."
    )
    generation: GenerationInput | None = strawberry.field(
        default=None, description="Per-phase model ids; unset ones come from settings."
    )
    budget_usd: float | None = strawberry.field(
        default=None, description="Stop before a paid call would exceed it."
    )


@strawberry.type
class ContinueResult:
    checkpoint: Checkpoint = strawberry.field(description="The checkpoint that was continued.")
    branch: Branch = strawberry.field(description="The branch the next phase runs on.")
    next_phase: int
    created_new_branch: bool


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_video(self, info: Info, input: CreateVideoInput) -> Video:
        row = await videos.create_video(
            info,
            prompt=input.prompt,
            title=input.title,
            # Explicit nulls mean "the default", as for omitted fields.
            duration_seconds=30 if input.duration_seconds is None else input.duration_seconds,
            auto_continue=bool(input.auto_continue),
            generation=input.generation.chosen() if input.generation else {},
            budget_usd=input.budget_usd,
        )
        info.context.refresh_loaders()
        return Video.of(row)

    @strawberry.mutation(description="Phase 1: top-level keys of the patch replace the spec's.")
    async def edit_spec(
        self,
        info: Info,
        checkpoint_id: strawberry.ID,
        patch: JSON,
        description: str | None = None,
    ) -> Artifact:
        row = await checkpoints.edit_spec(info, checkpoint_id, patch, description)
        info.context.refresh_loaders()
        return Artifact.of(row)

    @strawberry.mutation(description="Phase 2: a PNG or JPEG replaces one storyboard image.")
    async def upload_beat_image(
        self, info: Info, checkpoint_id: strawberry.ID, beat_index: int, image: Upload
    ) -> Artifact:
        row = await checkpoints.upload_beat_image(info, checkpoint_id, beat_index, image)
        info.context.refresh_loaders()
        return Artifact.of(row)

    @strawberry.mutation(description="Phase 2: re-render one storyboard image.")
    async def regenerate_beat(
        self,
        info: Info,
        checkpoint_id: strawberry.ID,
        beat_index: int,
        prompt_override: str | None = None,
    ) -> Artifact:
        return Artifact.of(
            await checkpoints.regenerate(
                info,
                edit="regenerateBeat",
                checkpoint_id=checkpoint_id,
                index=beat_index,
                override=prompt_override,
            )
        )

    @strawberry.mutation(description="Phase 3: re-render one clip (and the stitched preview).")
    async def regenerate_chunk(
        self,
        info: Info,
        checkpoint_id: strawberry.ID,
        chunk_index: int,
        model_override: str | None = None,
    ) -> Artifact:
        return Artifact.of(
            await checkpoints.regenerate(
                info,
                edit="regenerateChunk",
                checkpoint_id=checkpoint_id,
                index=chunk_index,
                override=model_override,
            )
        )

    @strawberry.mutation(description="A new branch whose first checkpoint copies this one.")
    async def create_branch(
        self, info: Info, checkpoint_id: strawberry.ID, name: str | None = None
    ) -> Branch:
        row = await checkpoints.create_branch(info, checkpoint_id, name)
        info.context.refresh_loaders()
        return Branch.of(row)

    @strawberry.mutation(description="Approve and run the next phase.")
    async def continue_checkpoint(
        self, info: Info, checkpoint_id: strawberry.ID, branch_name: str | None = None
    ) -> ContinueResult:
        outcome = await checkpoints.continue_checkpoint(info, checkpoint_id, branch_name)
        info.context.refresh_loaders()
        return ContinueResult(
            checkpoint=Checkpoint.of(outcome.checkpoint),
            branch=Branch.of(outcome.branch),
            next_phase=outcome.next_phase,
            created_new_branch=outcome.created_new_branch,
        )

    @strawberry.mutation(description="Null removes the budget.")
    async def set_budget(
        self, info: Info, video_id: strawberry.ID, budget_usd: float | None
    ) -> Video:
        row = await videos.set_budget(info, video_id, budget_usd)
        info.context.refresh_loaders()
        return Video.of(row)

    @strawberry.mutation(
        description=(
            "Queue the branch's last run again, on the branch, with the same inputs, when it"
            " failed or was cancelled (phase 1 included)."
        )
    )
    async def retry_branch(self, info: Info, branch_id: strawberry.ID) -> Branch:
        row = await checkpoints.retry_branch(info, branch_id)
        info.context.refresh_loaders()
        return Branch.of(row)

    @strawberry.mutation
    async def cancel_video(self, info: Info, id: strawberry.ID) -> Video:
        row = await videos.cancel_video(info, id)
        info.context.refresh_loaders()
        return Video.of(row)

    @strawberry.mutation
    async def delete_video(self, info: Info, id: strawberry.ID) -> bool:
        return await videos.delete_video(info, id)
