"""The GraphQL router: Strawberry's, with malformed requests answered as the client's error.

Strawberry parses HTTP bodies, multipart uploads and websocket frames; where a hostile or
broken request would raise inside it (a traceback and a 500), this refuses it with 400 or a
4400 close instead. Open websockets are in a sweep that re-checks their API keys (SPEC
Access: a revoked key stops working within 10 seconds, open websockets included).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.fastapi import GraphQLRouter
from strawberry.file_uploads.utils import replace_placeholders_with_files
from strawberry.http import GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from aivideo import metrics
from aivideo.access import AccessCache, identify
from aivideo.schema.context import Context
from aivideo.web.routes import graphiql_page
from aivideo.websocket_keys import KeySweep, close_revoked, key_still_works

log = logging.getLogger(__name__)

# Deeper JSON than this is no GraphQL request; refusing it keeps recursion (json, deepcopy,
# graphql-core) far from Python's limit.
MAX_JSON_DEPTH = 64


class JSONTooDeep(json.JSONDecodeError):
    """JSON nested deeper than MAX_JSON_DEPTH (a JSONDecodeError, so websockets close 4400)."""

    def __init__(self, document: str | bytes) -> None:
        text = document if isinstance(document, str) else document.decode(errors="replace")
        super().__init__(f"JSON is nested deeper than {MAX_JSON_DEPTH} levels", text, 0)


def json_depth_exceeds(value: object, limit: int) -> bool:
    """Whether `value` nests containers deeper than `limit` (iterative: no recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _with_code(error: object) -> object:
    if not isinstance(error, dict):
        return error
    extensions = error.get("extensions") or {}
    if "code" in extensions:
        return error
    # Strawberry's own protocol errors ("Subscription limit reached"): the client asked too much.
    return {**error, "extensions": {**extensions, "code": "BAD_USER_INPUT"}}


def with_codes(payload: object) -> object:
    """An error frame's payload with `extensions.code` on every error (SPEC Errors)."""
    if isinstance(payload, list):
        return [_with_code(error) for error in payload]
    return _with_code(payload)


class KeyWatchedSocket:
    """What both websocket protocols add: the key re-checked, error codes, the open count.

    A mixin before Strawberry's handler class, so each method ends in the protocol's own.
    Once acknowledged, the connection is in the router's key sweep until it ends.
    """

    view: AivideoGraphQLRouter
    context: Context
    connection_acknowledged: bool

    async def handle(self) -> None:
        metrics.WEBSOCKETS_OPEN.inc()
        try:
            await super().handle()  # type: ignore[misc]
        finally:
            metrics.WEBSOCKETS_OPEN.dec()
            self.view.key_sweep.discard(self)

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)  # type: ignore[misc]
        if self.connection_acknowledged:
            self.view.key_sweep.add(self)

    async def key_still_works(self) -> bool:
        """Before each operation: False (and the socket closed) once the key stopped working."""
        if self.connection_acknowledged and not await key_still_works(
            self.context, self.view.access
        ):
            await close_revoked(self.context)
            return False
        return True

    async def send_message(self, message: Any) -> None:
        if message.get("type") == "error":
            message = {**message, "payload": with_codes(message.get("payload"))}
        await super().send_message(message)  # type: ignore[misc]


class TransportWSHandler(KeyWatchedSocket, BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws: malformed frames close 4400; the key is re-checked."""

    view: AivideoGraphQLRouter

    async def handle_message(self, message: Any) -> None:
        problem = transport_ws_message_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)

    async def handle_subscribe(self, message: Any) -> None:
        if await self.key_still_works():
            await super().handle_subscribe(message)


class LegacyWSHandler(KeyWatchedSocket, BaseGraphQLWSHandler[Context, None]):
    """graphql-ws: malformed frames close 4400; the key is re-checked."""

    view: AivideoGraphQLRouter

    async def handle_message(self, message: Any) -> None:
        problem = legacy_ws_message_problem(message)
        if problem is not None:
            await self.websocket.close(code=4400, reason=problem)
            return
        await super().handle_message(message)

    async def handle_start(self, message: Any) -> None:
        if await self.key_still_works():
            await super().handle_start(message)


def _operation_problem(payload: object) -> str | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return "the payload must be an object with a string 'query'"
    if not isinstance(payload.get("variables"), dict | None):
        return "the payload's 'variables' must be an object"
    if not isinstance(payload.get("operationName"), str | None):
        return "the payload's 'operationName' must be a string"
    return None


def transport_ws_message_problem(message: object) -> str | None:
    """What is wrong with a graphql-transport-ws frame, or None."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "a message must be a JSON object with a string 'type'"
    if message["type"] in ("subscribe", "complete") and not isinstance(message.get("id"), str):
        return f"a {message['type']} message needs a string 'id'"
    if message["type"] == "subscribe":
        return _operation_problem(message.get("payload"))
    return None


def legacy_ws_message_problem(message: object) -> str | None:
    """What is wrong with a graphql-ws frame, or None."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "a message must be a JSON object with a string 'type'"
    if message["type"] in ("start", "stop") and not isinstance(message.get("id"), str):
        return f"a {message['type']} message needs a string 'id'"
    if message["type"] == "start":
        return _operation_problem(message.get("payload"))
    return None


def _check_files_map(files_map: object, files: Mapping[str, Any]) -> dict[str, list[str]]:
    """The multipart `map`, checked: each named part is a file, each path a dotted string."""
    if not isinstance(files_map, dict) or not all(
        isinstance(paths, list) and all(isinstance(path, str) for path in paths)
        for paths in files_map.values()
    ):
        raise HTTPException(
            400, 'the multipart "map" must be an object of part name → list of variable paths'
        )
    for name in files_map:
        if not isinstance(files.get(name), UploadFile):
            raise HTTPException(
                400, f'multipart part "{name}" must be a file: the map puts it where an Upload goes'
            )
    return files_map


class AivideoGraphQLRouter(GraphQLRouter[Context, None]):
    """Strawberry's FastAPI router with this service's auth and malformed-request answers."""

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """GraphiQL from the package's own files: it works with no network."""
        return graphiql_page()

    def __init__(self, *args: Any, access: AccessCache, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.access = access
        self.key_sweep = KeySweep(access)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Take the `Authorization` value of connection_init; refuse the connection without one."""
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        authorization = params.get("Authorization") or params.get("authorization")
        if isinstance(authorization, str):
            context.caller = await identify(context.runtime, authorization, self.access)
        if context.caller.error is not None:
            raise ConnectionRejectionError(
                {"message": str(context.caller.error), "code": context.caller.error.code}
            )
        return UNSET

    def decode_json(self, data: str | bytes) -> object:
        try:
            value = json.loads(data)
        except RecursionError as exc:
            raise JSONTooDeep(data) from exc
        if json_depth_exceeds(value, MAX_JSON_DEPTH):
            raise JSONTooDeep(data)
        return value

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return self.decode_json(data)
        except JSONTooDeep as exc:
            raise HTTPException(400, f"{exc.msg}: send a flatter request") from exc
        except json.JSONDecodeError as exc:
            raise HTTPException(400, f"the request body is not valid JSON: {exc.msg}") from exc

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, str]:
        try:
            form_data = await request.get_form_data()
        except ValueError as exc:
            raise HTTPException(400, "Unable to parse the multipart body") from exc
        operations = self.parse_json(form_data.form.get("operations", "{}"))
        if not isinstance(operations, dict):
            raise HTTPException(400, 'the multipart "operations" must be a JSON object')
        files_map = self.parse_json(form_data.form.get("map", "{}"))
        files_map = _check_files_map(files_map, form_data.files)
        try:
            return replace_placeholders_with_files(operations, files_map, form_data.files)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise HTTPException(
                400, 'a multipart "map" path does not lead to a variable of "operations"'
            ) from exc

    async def execute_single(
        self,
        request: Any,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Any,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        # Strawberry lets subscriptions through here (they are for its streaming transports),
        # where one would run as a query and fail inside: they belong on the websocket.
        allowed = {OperationType.QUERY}
        if request_adapter.method == "POST":
            allowed.add(OperationType.MUTATION)
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason()) from exc
        except InvalidOperationTypeError as exc:
            reason = exc.as_http_error_reason(request_adapter.method)
            if exc.operation_type is OperationType.SUBSCRIPTION:
                reason += ": subscribe over a websocket to /graphql (graphql-transport-ws)"
            raise HTTPException(400, reason) from exc
        except MissingQueryError as exc:
            raise HTTPException(400, "No GraphQL query found in the request") from exc
