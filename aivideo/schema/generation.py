"""Model choice and prices: the Generation of a video and the models this server knows."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.scalars import JSON


@strawberry.type(description="The model id each phase of a video uses, defaults filled in.")
class Generation:
    planner: str = strawberry.field(description="local | openai:<model>")
    image_model: str = strawberry.field(description="local | replicate:<owner>/<name>[:<version>]")
    video_model: str
    music_model: str

    @classmethod
    def of(cls, stored: dict[str, str]) -> Generation:
        return cls(
            planner=stored.get("planner", "local"),
            image_model=stored.get("imageModel", "local"),
            video_model=stored.get("videoModel", "local"),
            music_model=stored.get("musicModel", "local"),
        )


@strawberry.input(description="Per-phase model ids; unset ones come from the server's settings.")
class GenerationInput:
    planner: str | None = None
    image_model: str | None = None
    video_model: str | None = None
    music_model: str | None = None

    def chosen(self) -> dict[str, str | None]:
        return {
            "planner": self.planner,
            "imageModel": self.image_model,
            "videoModel": self.video_model,
            "musicModel": self.music_model,
        }


@strawberry.enum
class ModelKind(Enum):
    PLANNER = "PLANNER"
    IMAGE = "IMAGE"
    VIDEO = "VIDEO"
    MUSIC = "MUSIC"


@strawberry.type
class ModelInfo:
    id: str = strawberry.field(description="e.g. replicate:black-forest-labs/flux-dev")
    kind: ModelKind
    available: bool = strawberry.field(description="Its credentials are configured.")
    price: JSON = strawberry.field(description="The price table entry (unit and USD).")
