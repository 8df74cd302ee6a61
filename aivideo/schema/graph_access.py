"""Shortcuts from a resolver to the request's loaders."""

from __future__ import annotations

from aivideo.domain.video_graph import VideoGraph
from aivideo.schema.context import Info


async def graph_of(info: Info, video_id: str) -> VideoGraph:
    return await info.context.loaders.graph_by_video_id.load(video_id)
