"""SQLModel tables and stored enumerations."""

from aivideo.models.enums import (
    FINAL_PHASE,
    ArtifactType,
    BranchStatus,
    CheckpointStatus,
    Phase,
    RunStatus,
    VideoStatus,
)
from aivideo.models.tables import ApiKey, Artifact, Branch, Checkpoint, ProviderCall, Run, Video

__all__ = [
    "FINAL_PHASE",
    "ApiKey",
    "Artifact",
    "ArtifactType",
    "Branch",
    "BranchStatus",
    "Checkpoint",
    "CheckpointStatus",
    "Phase",
    "ProviderCall",
    "Run",
    "RunStatus",
    "Video",
    "VideoStatus",
]
