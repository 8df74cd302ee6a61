"""Malformed requests are the client's error (SPEC Errors): 400 or BAD_USER_INPUT, never a
500, INTERNAL or a traceback in the server log."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.typing import Subprotocol

from tests import api
from tests.conftest import Server
from tests.service_process import serving
from tests.ws_client import LEGACY_WS, TRANSPORT_WS

DEEP = "[" * 100_000 + "]" * 100_000
COUNT = "{ videos { totalCount } }"
UPLOAD = """
mutation Upload($id: ID!, $image: Upload!) {
  uploadBeatImage(checkpointId: $id, beatIndex: 0, image: $image) { id }
}
"""
UPLOAD_OPERATIONS = json.dumps({"query": UPLOAD, "variables": {"id": "ckp-x", "image": None}})
UPLOAD_HEADERS = {"x-aivideo-csrf": "1"}
PNG_PART = ("beat.png", b"\x89PNG\r\n\x1a\n", "image/png")
VIDEO_COUNT = "{ videos { totalCount } }"


@pytest.fixture
def server_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything the server logs, uvicorn's "Exception in ASGI application" included."""
    uvicorn_log = logging.getLogger("uvicorn")  # it does not propagate to the root logger
    uvicorn_log.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        uvicorn_log.removeHandler(caplog.handler)


def assert_no_error_logged(log: pytest.LogCaptureFixture) -> None:
    errors = [r for r in log.records if r.levelno >= logging.ERROR or r.exc_info]
    assert errors == [], [r.getMessage() for r in errors]


HTTP_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "100k-deep JSON": (
        {
            "content": f'{{"query": "{COUNT}", "variables": {{"a": {DEEP}}}}}',
            "headers": {"content-type": "application/json"},
        },
        "JSON is nested deeper than 64 levels: send a flatter request",
    ),
    "subscription over POST": (
        {"json": {"query": "subscription { checkpointCreated { videoId } }"}},
        "subscriptions are not allowed when using POST: "
        "subscribe over a websocket to /graphql (graphql-transport-ws)",
    ),
    "text where an Upload belongs": (
        {
            "data": {
                "operations": UPLOAD_OPERATIONS,
                "map": json.dumps({"0": ["variables.image"]}),
                "0": "not a file",
            },
            "files": {"other": PNG_PART},
            "headers": UPLOAD_HEADERS,
        },
        'multipart part "0" must be a file: the map puts it where an Upload goes',
    ),
    "deeply nested multipart map": (
        {
            "data": {"operations": UPLOAD_OPERATIONS, "map": f'{{"0": {DEEP}}}'},
            "files": {"0": PNG_PART},
            "headers": UPLOAD_HEADERS,
        },
        "JSON is nested deeper than 64 levels: send a flatter request",
    ),
    "multipart map path leading nowhere": (
        {
            "data": {
                "operations": UPLOAD_OPERATIONS,
                "map": json.dumps({"0": ["variables.image.a.b"]}),
            },
            "files": {"0": PNG_PART},
            "headers": UPLOAD_HEADERS,
        },
        'a multipart "map" path does not lead to a variable of "operations"',
    ),
    "multipart map that is a list": (
        {
            "data": {"operations": UPLOAD_OPERATIONS, "map": json.dumps(["variables.image"])},
            "files": {"0": PNG_PART},
            "headers": UPLOAD_HEADERS,
        },
        'the multipart "map" must be an object of part name → list of variable paths',
    ),
}


@pytest.mark.parametrize("case", list(HTTP_CASES))
async def test_a_malformed_http_request_is_a_400(
    server: Server, server_log: pytest.LogCaptureFixture, case: str
) -> None:
    # given
    request, message = HTTP_CASES[case]
    before = (await server.gql(VIDEO_COUNT))["videos"]["totalCount"]

    # when
    response = await server.http.post("/graphql", **request)

    # then
    assert (response.status_code, response.text) == (400, message)
    assert_no_error_logged(server_log)
    assert (await server.gql(VIDEO_COUNT))["videos"]["totalCount"] == before


WS_CASES = {
    "a list": "[1, 2]",
    "a type that is not a string": '{"type": 5}',
    "100k-deep JSON": f'{{"type": "connection_init", "payload": {DEEP}}}',
}
WS_REASONS = {
    "a list": "a message must be a JSON object with a string 'type'",
    "a type that is not a string": "a message must be a JSON object with a string 'type'",
    "100k-deep JSON": "WebSocket message must be valid JSON",
}


async def closing(ws: websockets.ClientConnection) -> tuple[int, str]:
    """The close code and reason the server ends the connection with."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 30)
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
@pytest.mark.parametrize("case", list(WS_CASES))
async def test_a_malformed_frame_before_connection_init_is_refused(
    server: Server, server_log: pytest.LogCaptureFixture, protocol: str, case: str
) -> None:
    async with websockets.connect(server.ws_url, subprotocols=[Subprotocol(protocol)]) as ws:
        # when
        await ws.send(WS_CASES[case])

        # then
        if protocol == LEGACY_WS and case == "100k-deep JSON":
            # graphql-ws ignores frames that are not JSON: the connection goes on
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 30)) == {"type": "connection_ack"}
        else:
            assert await closing(ws) == (4400, WS_REASONS[case])
    assert_no_error_logged(server_log)


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_a_start_without_a_query_closes_with_4400(
    server: Server, server_log: pytest.LogCaptureFixture, protocol: str
) -> None:
    start = "subscribe" if protocol == TRANSPORT_WS else "start"
    async with websockets.connect(server.ws_url, subprotocols=[Subprotocol(protocol)]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 30))["type"] == "connection_ack"

        await ws.send(json.dumps({"type": start, "id": "1", "payload": {"variables": {}}}))

        assert await closing(ws) == (4400, "the payload must be an object with a string 'query'")
    assert_no_error_logged(server_log)


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_the_subscription_limit_carries_a_code(tmp_path: Path, protocol: str) -> None:
    # given a server allowing one operation per websocket, and one running
    start = "subscribe" if protocol == TRANSPORT_WS else "start"
    subscribe = {"query": "subscription { checkpointCreated { videoId } }", "variables": {}}
    async with (
        serving(tmp_path, AIVIDEO_WEBSOCKET_MAX_OPERATIONS="1") as url,
        websockets.connect(
            url.replace("http", "ws") + "/graphql", subprotocols=[Subprotocol(protocol)]
        ) as ws,
    ):
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 30))["type"] == "connection_ack"
        await ws.send(json.dumps({"type": start, "id": "1", "payload": subscribe}))

        # when a second one starts
        await ws.send(json.dumps({"type": start, "id": "2", "payload": subscribe}))

        # then it is refused with a code, and the first still runs
        refusal = json.loads(await asyncio.wait_for(ws.recv(), 30))
        async with httpx.AsyncClient(base_url=url) as http:
            created = await http.post(
                "/graphql",
                json={
                    "query": api.CREATE_VIDEO,
                    "variables": {"input": {"prompt": api.PROMPT, "durationSeconds": 10}},
                },
            )
        event = json.loads(await asyncio.wait_for(ws.recv(), 60))
    payload = refusal["payload"]
    [error] = payload if isinstance(payload, list) else [payload]
    assert (refusal["type"], refusal["id"]) == ("error", "2")
    assert error["message"] == "Subscription limit reached"
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    video_id = created.json()["data"]["createVideo"]["id"]
    assert event["id"] == "1"
    assert event["payload"] == {"data": {"checkpointCreated": {"videoId": video_id}}}
