"""`/media/<sha256>.<ext>`: stored artifact files, with HTTP range support for video."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlmodel import col

from aivideo.models import Artifact
from aivideo.runtime import Runtime

router = APIRouter()


@router.get("/media/{name}", name="media")
async def media(name: str, request: Request) -> FileResponse:
    """Serve a stored file by content hash; only files some artifact references exist."""
    runtime: Runtime = request.app.state.runtime
    sha256 = name.split(".", 1)[0]
    async with runtime.sessions() as session:
        content_type = await session.scalar(
            select(col(Artifact.content_type)).where(col(Artifact.sha256) == sha256).limit(1)
        )
    path = runtime.storage.local_path(sha256) if content_type else None
    if path is None:
        raise HTTPException(status_code=404, detail="no such media file")
    # FileResponse answers Range requests (206) itself; files never change, so cache hard.
    return FileResponse(
        path,
        media_type=content_type,
        headers={"Cache-Control": "private, max-age=31536000, immutable"},
    )
