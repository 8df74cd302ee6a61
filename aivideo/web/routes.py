"""Serves the review page and the vendored front-end files from inside the package."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

# A real directory: the package is installed from a wheel or in place, never zipped.
STATIC_DIR = Path(str(files("aivideo.web") / "static"))
ASSETS_PREFIX = "/ui"

router = APIRouter()


@router.get("/", include_in_schema=False)
async def review_page() -> FileResponse:
    """The review page; everything it does goes through /graphql."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html")


def graphiql_page() -> HTMLResponse:
    """GraphiQL wired to /graphql and its websocket, loading nothing from another host."""
    return HTMLResponse((STATIC_DIR / "graphiql.html").read_text(encoding="utf-8"))


def mount_web(app: FastAPI) -> None:
    """The page at `/` and its files under /ui/."""
    app.include_router(router)
    app.mount(ASSETS_PREFIX, StaticFiles(directory=STATIC_DIR), name="ui")
