"""Gives every HTTP request and websocket an id: the caller's `X-Request-ID`, or a new one.

The id is bound for logging (every line the request causes carries it) and echoed in the
response's `X-Request-ID`, so a client's report can be matched to the server's lines.
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aivideo.logging_setup import bind_ids

HEADER = "x-request-id"
# A caller's id is kept only when it is short and plain: it ends up in log lines.
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_of(headers: Headers) -> str:
    given = headers.get(HEADER, "")
    return given if _ACCEPTABLE.fullmatch(given) else uuid.uuid4().hex


class RequestIds:
    """ASGI middleware: bind the request's id while the app runs, and echo it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(Headers(scope=scope))

        async def send_with_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        with bind_ids(request_id=request_id):
            await self.app(scope, receive, send_with_id)
