"""`/media/<sha256>.<ext>`: stored artifact files, with HTTP range support for video."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlmodel import col

from aivideo import media_tokens
from aivideo.access import identify
from aivideo.models import Artifact, Video
from aivideo.runtime import Runtime

router = APIRouter()


@router.get("/media/{name}", name="media")
async def media(name: str, request: Request, token: str | None = None) -> Response:
    """Serve a stored file to an owner with an artifact that uses it; to anyone else, 404."""
    runtime: Runtime = request.app.state.runtime
    sha256 = name.split(".", 1)[0]
    owner = await _owner(runtime, request, sha256, token)
    content_type = None
    if owner is not None:
        async with runtime.sessions() as session:
            content_type = await session.scalar(
                select(col(Artifact.content_type))
                .join(Video, col(Video.id) == col(Artifact.video_id))
                .where(col(Artifact.sha256) == sha256, col(Video.owner) == owner)
                .limit(1)
            )
    if content_type is None:
        raise HTTPException(status_code=404, detail="no such media file")
    elsewhere = await runtime.storage.download_url(sha256, content_type=content_type)
    if elsewhere is not None:
        # The bucket serves the bytes (and ranges); the ownership check stays here.
        return RedirectResponse(elsewhere, status_code=307)
    path = runtime.storage.local_path(sha256)
    if path is None:
        raise HTTPException(status_code=404, detail="no such media file")
    # FileResponse answers Range requests (206) itself; files never change, so cache hard.
    return FileResponse(
        path,
        media_type=content_type,
        headers={"Cache-Control": "private, max-age=86400, immutable"},
    )


async def _owner(runtime: Runtime, request: Request, sha256: str, token: str | None) -> str | None:
    """A signed URL's owner, else the API key's (or the open server's) owner."""
    if token is not None:
        return media_tokens.verify(runtime.secret, token, sha256=sha256)
    authorization = request.headers.get("authorization")
    return (await identify(runtime, authorization, request.app.state.access)).owner
