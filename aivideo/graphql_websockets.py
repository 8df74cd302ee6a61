"""GraphQL websockets go from the app's middleware straight to the GraphQL handler.

A websocket lives as long as its client keeps it open, and everything it passed through on
the way in lives as long: FastAPI's routing keeps its exit stacks, dependency state and
exception handlers for each socket, about a fifth of an idle subscription's memory. This
middleware sits inside the app's own (request ids, the Host check), so a websocket to the
GraphQL path gets the same checks, the same context and the same router's handler as
before, without FastAPI's per-route machinery. HTTP requests take the usual way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from aivideo.graphql_router import AivideoGraphQLRouter
from aivideo.schema.context import Context


class GraphQLWebsockets:
    """ASGI middleware: a websocket to `path` is served by `router` directly."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        router: AivideoGraphQLRouter,
        path: str,
        context_getter: Callable[..., Awaitable[Context]],
    ) -> None:
        self.app, self.router, self.path = app, router, path
        self.context_getter = context_getter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        websocket = WebSocket(scope, receive, send)
        context = await self.context_getter(websocket=websocket)
        context.request = websocket  # what Strawberry's FastAPI dependency would set
        await self.router.run(request=websocket, context=context, root_value=None)
