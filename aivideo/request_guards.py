"""Checks a request passes before the app reads its body (SPEC Access).

An ASGI middleware, so they hold while the body still streams and nothing unwanted is ever
stored: the API key when one is required, the body size, and on the open server (loopback,
no keys) the `Host` header and a content type that a cross-site page cannot forge.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.http.parse_content_type import parse_content_type

from aivideo.access import AccessCache, Caller, auth_required, identify, is_loopback
from aivideo.runtime import Runtime
from aivideo.settings import Settings

JSON_TYPES = frozenset({"application/json", "application/graphql-response+json"})
# A browser sends a custom header cross-site only after a CORS preflight, which this server
# never grants: a page on another site cannot make a multipart request that carries one.
CSRF_HEADERS = ("x-aivideo-csrf", "apollo-require-preflight")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
GUARDED_PATHS = ("/graphql", "/media")  # /healthz answers without touching the database


class Refusal(Exception):
    """A request refused before the app saw it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# Not a ValueError: Strawberry answers those as "cannot parse the body".
class BodyTooLarge(Exception):
    """The body grew past its limit while streaming."""


def body_limit(config: Settings, content_type: str) -> int:
    """Uploads come as multipart; everything else is a JSON operation, far smaller."""
    if content_type == "multipart/form-data":
        return config.max_upload_body_bytes
    return config.max_json_body_bytes


def too_large(limit: int) -> Refusal:
    return Refusal(
        413, "BAD_USER_INPUT", f"the request body is larger than this server takes ({limit} bytes)"
    )


def media_type(headers: Headers) -> str:
    value = headers.get("content-type")
    return parse_content_type(value)[0].lower() if value else ""


def check_host(headers: Headers) -> None:
    """An open server answers only to loopback names: no DNS-rebound page can reach it."""
    host = headers.get("host", "")
    try:
        hostname = urlsplit(f"//{host}").hostname or ""
    except ValueError:
        hostname = ""
    if not is_loopback(hostname):
        raise Refusal(
            403,
            "FORBIDDEN",
            f"Host {host!r} is not localhost or a loopback address: a server without API keys "
            "answers only to those; open it as http://127.0.0.1:PORT, or create an API key",
        )


def check_unforgeable(headers: Headers) -> None:
    """Only requests that a cross-site page cannot send: JSON, or multipart with a header."""
    kind = media_type(headers)
    if kind in JSON_TYPES:
        return
    if kind == "multipart/form-data":
        if any(headers.get(name) for name in CSRF_HEADERS):
            return
        raise Refusal(
            403,
            "FORBIDDEN",
            "a server without API keys takes multipart uploads only with the header "
            "'x-aivideo-csrf: 1' (or 'Apollo-Require-Preflight: true'), which a page on "
            "another site cannot send",
        )
    raise Refusal(
        403,
        "FORBIDDEN",
        f"Content-Type {kind or 'missing'!r} is not accepted: send 'application/json' "
        "(or multipart/form-data with 'x-aivideo-csrf: 1' for uploads)",
    )


def check_declared_length(headers: Headers, limit: int) -> None:
    declared = headers.get("content-length")
    if declared is None:
        return
    if not declared.isdigit():
        raise Refusal(400, "BAD_USER_INPUT", "Content-Length must be a number of bytes")
    if int(declared) > limit:
        raise too_large(limit)


async def check_http(runtime: Runtime, scope: Scope, headers: Headers) -> Caller | None:
    access: AccessCache = scope["app"].state.access
    """Refuse what the app must never read; the authenticated caller when there is one."""
    has_body, caller = scope["method"] in BODY_METHODS, None
    if scope["path"].startswith(GUARDED_PATHS):
        if not await auth_required(runtime, access):
            check_host(headers)
            if has_body:
                check_unforgeable(headers)
        elif has_body:
            caller = await identify(runtime, headers.get("authorization"), access)
            if caller.error is not None:
                raise Refusal(401, caller.error.code, str(caller.error))
    check_declared_length(headers, body_limit(runtime.settings, media_type(headers)))
    return caller


def _limited(receive: Receive, limit: int) -> Receive:
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
        return message

    return receive_within_limit


async def _refuse_http(send: Send, refusal: Refusal, *, drained: bool = False) -> None:
    body = json.dumps(
        {"errors": [{"message": refusal.message, "extensions": {"code": refusal.code}}]}
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if not drained:
        # The body was not read: the connection cannot carry another request.
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive, headers: Headers, limit: int) -> bool:
    """Read and drop a body declared to be within `limit`, so that the client, still sending
    it, can read the refusal; False (nothing read) for a body that may be larger."""
    declared = headers.get("content-length")
    if declared is None or not declared.isdigit() or int(declared) > limit:
        return False
    more = True
    while more:
        message = await receive()
        more = message["type"] == "http.request" and message.get("more_body", False)
    return True


class RequestGuard:
    """The middleware: every HTTP request and websocket handshake passes these checks first."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Cross-site Origins are refused by Strawberry itself; a rebound name is refused here.
        runtime: Runtime = scope["app"].state.runtime
        if not await auth_required(runtime, scope["app"].state.access):
            try:
                check_host(Headers(scope=scope))
            except Refusal as refusal:
                await send({"type": "websocket.close", "code": 1008, "reason": refusal.message})
                return
        await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime: Runtime = scope["app"].state.runtime
        headers = Headers(scope=scope)
        try:
            caller = await check_http(runtime, scope, headers)
        except Refusal as refusal:
            # A small body (an upload without its CSRF header, say) is read and dropped first;
            # a large or unauthenticated one is never read (the connection closes instead).
            small = refusal.status == 403 and scope["method"] in BODY_METHODS
            limit = body_limit(runtime.settings, media_type(headers))
            drained = small and await _drain(receive, headers, limit)
            await _refuse_http(send, refusal, drained=drained)
            return
        if caller is not None:  # get_context need not look it up again
            scope.setdefault("state", {})["caller"] = caller
        limit = body_limit(runtime.settings, media_type(headers))
        started = False

        async def send_watching(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, _limited(receive, limit), send_watching)
        except BodyTooLarge:
            if started:
                raise
            await _refuse_http(send, too_large(limit))
