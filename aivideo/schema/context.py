"""The typed request context and the `Info` alias every resolver uses."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from strawberry.fastapi import BaseContext

from aivideo import media_tokens
from aivideo.access import Caller
from aivideo.runtime import Runtime
from aivideo.schema.loaders import Loaders


@dataclass
class Context(BaseContext):
    runtime: Runtime
    caller: Caller
    base_url: str
    loaders: Loaders
    # Set by a resolver whose answer depends on the time of asking: it is then not cached.
    depends_on_clock: bool = False

    def __post_init__(self) -> None:
        super().__init__()

    @property
    def owner(self) -> str:
        """The caller's owner; UNAUTHENTICATED when the request has none."""
        if self.caller.owner is None:
            assert self.caller.error is not None
            raise self.caller.error
        return self.caller.owner

    def refresh_loaders(self) -> Loaders:
        """Forget cached rows: after a mutation, or per event on a long-lived websocket."""
        self.loaders = Loaders(self.runtime.sessions)
        return self.loaders

    def media_url(self, sha256: str, content_type: str | None) -> str:
        token = media_tokens.sign(self.runtime.secret, owner=self.owner, sha256=sha256)
        return f"{self.base_url}/media/{sha256}{extension_for(content_type)}?token={token}"


_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "video/mp4": ".mp4",
    "audio/mp4": ".m4a",
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "application/json": ".json",
}


def extension_for(content_type: str | None) -> str:
    return _EXTENSIONS.get(content_type or "", "")


Info = strawberry.Info[Context, None]
