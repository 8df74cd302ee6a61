"""Status and type enumerations stored as strings."""

from __future__ import annotations

from enum import StrEnum


class VideoStatus(StrEnum):
    QUEUED = "QUEUED"
    PLANNING = "PLANNING"
    PAUSED_AT_PHASE1 = "PAUSED_AT_PHASE1"
    GENERATING_STORYBOARD = "GENERATING_STORYBOARD"
    PAUSED_AT_PHASE2 = "PAUSED_AT_PHASE2"
    GENERATING_CHUNKS = "GENERATING_CHUNKS"
    PAUSED_AT_PHASE3 = "PAUSED_AT_PHASE3"
    REFINING = "REFINING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class CheckpointStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    ABANDONED = "ABANDONED"


class BranchStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class RunStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def active(self) -> bool:
        return self in (RunStatus.QUEUED, RunStatus.RUNNING)


class ArtifactType(StrEnum):
    SPEC = "SPEC"
    BEAT_IMAGE = "BEAT_IMAGE"
    VIDEO_CHUNK = "VIDEO_CHUNK"
    STITCHED_VIDEO = "STITCHED_VIDEO"
    MUSIC = "MUSIC"
    FINAL_VIDEO = "FINAL_VIDEO"


class Phase(StrEnum):
    PLANNING = "PLANNING"
    STORYBOARD = "STORYBOARD"
    CHUNKS = "CHUNKS"
    REFINEMENT = "REFINEMENT"

    @classmethod
    def of(cls, number: int) -> Phase:
        return list(cls)[number - 1]


FINAL_PHASE = 4
