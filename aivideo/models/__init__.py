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
from aivideo.models.tables import Artifact, Branch, Checkpoint, ProviderCall, Run, Video

__all__ = [
    "FINAL_PHASE",
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
