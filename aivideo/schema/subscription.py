"""The Subscription root and its event types."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from aivideo import models
from aivideo.errors import BadUserInput, NotFound
from aivideo.resolvers.lookups import owned_checkpoint, owned_video
from aivideo.schema.checkpoint import Checkpoint
from aivideo.schema.context import Info
from aivideo.schema.event_execution import one_per_event
from aivideo.schema.node import VideoStatus
from aivideo.schema.video import Video
from aivideo.subscriptions import feeds


@strawberry.type
class CheckpointCreatedEvent:
    video_id: strawberry.ID
    checkpoint_id: strawberry.ID
    phase: int
    branch_name: str

    @strawberry.field(description="Resolvable with any nested selection.")
    async def checkpoint(self, info: Info) -> Checkpoint:
        row = await info.context.loaders.checkpoint_by_id.load(self.checkpoint_id)
        if row is None:
            raise NotFound.of("checkpoint", self.checkpoint_id)  # deleted since
        return Checkpoint.of(row)

    @classmethod
    def of(cls, event: feeds.Event) -> CheckpointCreatedEvent:
        return cls(
            video_id=strawberry.ID(event["videoId"]),
            checkpoint_id=strawberry.ID(event["checkpointId"]),
            phase=event["phase"],
            branch_name=event["branchName"],
        )


@strawberry.type
class VideoStatusEvent:
    video_id: strawberry.ID
    status: VideoStatus
    progress: float
    current_phase: int | None
    branch_name: str | None

    @strawberry.field
    async def video(self, info: Info) -> Video:
        row = await info.context.loaders.video_by_id.load(self.video_id)
        if row is None:
            raise NotFound.of("video", self.video_id)
        return Video.of(row)

    @classmethod
    def of(cls, event: feeds.Event) -> VideoStatusEvent:
        return cls(
            video_id=strawberry.ID(event["videoId"]),
            status=VideoStatus(event["status"]),
            progress=event["progress"],
            current_phase=event["currentPhase"],
            branch_name=event["branchName"],
        )


# One root value per event for all local subscribers, so that identical selections run once.
checkpoint_created_root = one_per_event(CheckpointCreatedEvent.of)
video_status_root = one_per_event(VideoStatusEvent.of)


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Checkpoints as they are created; `after` replays first.")
    async def checkpoint_created(
        self, info: Info, video_id: strawberry.ID | None = None, after: strawberry.ID | None = None
    ) -> AsyncGenerator[CheckpointCreatedEvent, None]:
        replay_from: models.Checkpoint | None = None
        if video_id is not None:
            await owned_video(info, video_id)
        if after is not None:
            replay_from = await owned_checkpoint(info, after)
            if video_id is not None and replay_from.video_id != video_id:
                raise BadUserInput(f"checkpoint {after} belongs to another video than {video_id}")
        info.context.refresh_loaders()  # the rows of those checks would stay for the socket's life
        rt = info.context.runtime
        feed = feeds.checkpoint_events(
            events=rt.events,
            sessions=rt.sessions,
            owner=info.context.owner,
            video_id=video_id,
            after=replay_from,
        )
        async for event in feed:
            info.context.refresh_loaders()  # a long-lived connection must not serve stale rows
            yield checkpoint_created_root(event)

    @strawberry.subscription(description="Every status and progress change of a video.")
    async def video_status(
        self, info: Info, video_id: strawberry.ID
    ) -> AsyncGenerator[VideoStatusEvent, None]:
        # The feed checks ownership in the statement that reads the first event (NOT_FOUND).
        rt = info.context.runtime
        feed = feeds.status_events(
            events=rt.events, sessions=rt.sessions, owner=info.context.owner, video_id=video_id
        )
        async for event in feed:
            info.context.refresh_loaders()
            yield video_status_root(event)
