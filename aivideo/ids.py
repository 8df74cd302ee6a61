"""Prefixed, globally unique public IDs (vid-…, cp-…, art-…, br-…, run-…)."""

from __future__ import annotations

import uuid

VIDEO, CHECKPOINT, ARTIFACT, BRANCH, RUN, API_KEY = "vid", "cp", "art", "br", "run", "key"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def prefix_of(id_: str) -> str:
    return id_.split("-", 1)[0]
