"""The Node interface and the enums of the contract."""

from __future__ import annotations

import strawberry

from aivideo import models


@strawberry.interface(description="An object with a prefixed, globally unique ID.")
class Node:
    id: strawberry.ID


# strawberry.enum registers the stored enums in place, so they stay one type for mypy.
for _enum in (
    models.Phase,
    models.VideoStatus,
    models.CheckpointStatus,
    models.BranchStatus,
    models.ArtifactType,
):
    strawberry.enum(_enum, name=_enum.__name__)

Phase = models.Phase
VideoStatus = models.VideoStatus
CheckpointStatus = models.CheckpointStatus
BranchStatus = models.BranchStatus
ArtifactType = models.ArtifactType
