"""Plain values passed between the pipeline and the domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aivideo.models import Artifact, ArtifactType


@dataclass(frozen=True)
class NewArtifact:
    """An artifact to record: a stored file (sha256) or, for the spec, its JSON body."""

    type: ArtifactType
    key: str
    sha256: str | None = None
    content_type: str | None = None
    size_bytes: int | None = None
    data: Any = None
    meta: dict[str, Any] = field(default_factory=dict)
    cost_usd: float = 0.0
    model: str | None = None  # the model id that made it; None for uploads and edits

    def row(self, **ids: Any) -> Artifact:
        return Artifact(
            type=self.type,
            key=self.key,
            sha256=self.sha256,
            content_type=self.content_type,
            size_bytes=self.size_bytes,
            data=self.data,
            meta=dict(self.meta),
            cost_usd=self.cost_usd,
            model=self.model,
            **ids,
        )


@dataclass(frozen=True)
class ArtifactRef:
    """What a job needs to know of an input artifact."""

    id: str
    type: str
    key: str
    sha256: str | None
    data: Any

    @classmethod
    def of(cls, artifact: Artifact) -> ArtifactRef:
        return cls(artifact.id, artifact.type, artifact.key, artifact.sha256, artifact.data)


@dataclass(frozen=True)
class RunWork:
    """A phase run as the pipeline sees it once started."""

    run_id: str
    attempt: int
    video_id: str
    branch_id: str
    phase: int
    generation: dict[str, str]  # model ids per phase
    prompt: str
    title: str
    duration_seconds: int
    spec: dict[str, Any] | None
    inputs: list[ArtifactRef]
