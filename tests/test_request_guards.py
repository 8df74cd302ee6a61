"""Requests refused before their body is read (SPEC Access): the API key, the body size, and
on the open server (loopback, no keys) forged requests and foreign `Host` names."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.typing import Origin

from tests import api
from tests.conftest import Server
from tests.media_checks import marked_image
from tests.service_process import serving
from tests.test_manual_run import UPLOAD
from tests.ws_client import TRANSPORT_WS

VIDEO_COUNT = "{ videos { totalCount } }"
CREATE = json.dumps(
    {
        "query": api.CREATE_VIDEO,
        "variables": {"input": {"prompt": api.PROMPT, "durationSeconds": 10}},
    }
)
MIB = 1024 * 1024


class CountingBody:
    """A streamed request body of `size` bytes that counts how much of it was sent."""

    def __init__(self, size: int, head: bytes = b"") -> None:
        self.size, self.head, self.sent = size, head, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = b" " * (64 * 1024)
        yield self.head
        self.sent = len(self.head)
        while self.sent < self.size:
            yield chunk
            self.sent += len(chunk)


async def post_refused(
    http: httpx.AsyncClient, body: CountingBody, headers: dict[str, str]
) -> httpx.Response | None:
    """POST a streamed body the server refuses: its answer, or None when it cut the connection.

    The server stops reading and answers; a client still sending may see the connection
    reset (the unread bytes) before it reads the answer.
    """
    try:
        return await http.post("/graphql", content=body, headers=headers)
    except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
        return None


async def video_count(server: Server) -> int:
    return int((await server.gql(VIDEO_COUNT))["videos"]["totalCount"])


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]
)
async def test_a_post_a_page_could_forge_creates_nothing(server: Server, content_type: str) -> None:
    # given
    before = await video_count(server)

    # when a cross-site form sends a createVideo
    response = await server.http.post(
        "/graphql", content=CREATE, headers={"content-type": content_type}
    )

    # then
    assert response.status_code == 403
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN"}
    assert await video_count(server) == before


async def test_an_upload_needs_the_preflight_header_on_an_open_server(server: Server) -> None:
    # given a storyboard
    paused = await api.paused_video(server)
    await api.continue_and_settle(server, api.newest(paused["checkpoints"], phase=1)["id"])
    phase2 = api.newest((await api.video(server, paused["id"]))["checkpoints"], phase=2)
    operations = {"query": UPLOAD, "variables": {"id": phase2["id"], "index": 0, "image": None}}
    form = {"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.image"]})}
    files = {"0": ("mine.png", marked_image((200, 30, 30)), "image/png")}

    # when an upload comes without the header, then with it
    refused = await server.http.post("/graphql", data=form, files=files)
    after_refusal = api.newest((await api.video(server, paused["id"]))["checkpoints"], phase=2)
    accepted = await server.http.post(
        "/graphql", data=form, files=files, headers={"x-aivideo-csrf": "1"}
    )

    # then only the second made a version
    assert refused.status_code == 403
    [error] = refused.json()["errors"]
    assert error == {
        "message": "a server without API keys takes multipart uploads only with the header "
        "'x-aivideo-csrf: 1' (or 'Apollo-Require-Preflight: true'), which a page on another "
        "site cannot send",
        "extensions": {"code": "FORBIDDEN"},
    }
    assert api.artifact(after_refusal, "beat_0")["version"] == 1
    assert accepted.json()["data"]["uploadBeatImage"]["version"] == 2


async def test_a_foreign_host_is_refused_on_an_open_server(server: Server) -> None:
    # given
    before = await video_count(server)
    port = int(server.url.rsplit(":", 1)[1])

    # when a DNS-rebound page asks by its own name
    read = await server.http.get(
        "/graphql", params={"query": VIDEO_COUNT}, headers={"Host": "evil.example"}
    )
    write = await server.http.post(
        "/graphql",
        content=CREATE,
        headers={"Host": f"evil.example:{port}", "content-type": "application/json"},
    )

    # then
    for response in (read, write):
        assert response.status_code == 403
        [error] = response.json()["errors"]
        assert error["extensions"] == {"code": "FORBIDDEN"}
        assert error["message"].startswith("Host 'evil.example")
    assert await video_count(server) == before
    for name in ("localhost", "127.0.0.1", "[::1]"):
        response = await server.http.get(
            "/graphql", params={"query": VIDEO_COUNT}, headers={"Host": f"{name}:{port}"}
        )
        assert response.status_code == 200, name


@pytest.mark.parametrize(
    ("host", "origin"),
    [("evil.example", None), ("127.0.0.1", "http://evil.example")],
    ids=["rebound Host", "cross-site Origin"],
)
async def test_a_foreign_websocket_is_refused_on_an_open_server(
    server: Server, host: str, origin: str | None
) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    url = f"ws://{host}:{port}/graphql"
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            url,
            subprotocols=[TRANSPORT_WS],
            origin=Origin(origin) if origin else None,
            host="127.0.0.1",
            port=port,
        )
    assert refused.value.response.status_code == 403


async def test_an_oversized_body_is_refused_while_it_streams(server: Server) -> None:
    # given 200 MB of JSON, streamed without a Content-Length
    before = await video_count(server)
    body = CountingBody(200 * MIB, head=b'{"query": "{ videos { totalCount } }"')

    # when
    response = await post_refused(server.http, body, {"content-type": "application/json"})

    # then it was refused after about its 1 MiB limit, long before the end
    assert body.sent < 32 * MIB
    if response is not None:
        assert response.status_code == 413
        assert response.json() == {
            "errors": [
                {
                    "message": "the request body is larger than this server takes (1048576 bytes)",
                    "extensions": {"code": "BAD_USER_INPUT"},
                }
            ]
        }
    assert await video_count(server) == before


async def test_a_declared_oversized_upload_is_refused_before_it_is_read(server: Server) -> None:
    body = CountingBody(200 * MIB)
    headers = {
        "content-type": "multipart/form-data; boundary=x",
        "content-length": str(200 * MIB),
        "x-aivideo-csrf": "1",
    }

    response = await post_refused(server.http, body, headers)

    assert body.sent < 32 * MIB
    if response is not None:
        assert response.status_code == 413
        assert response.json()["errors"][0]["message"] == (
            "the request body is larger than this server takes (27262976 bytes)"
        )


async def test_a_body_without_a_key_is_refused_before_it_is_read(tmp_path: Path) -> None:
    # given a server that requires a key, and a 200 MB upload without one
    body = CountingBody(200 * MIB)
    headers = {"content-type": "multipart/form-data; boundary=x"}
    async with (
        serving(tmp_path, AIVIDEO_AUTH="required") as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        # when
        response = await post_refused(http, body, headers)

    # then it was refused at once, having read (almost) nothing
    assert body.sent < 32 * MIB
    if response is not None:
        assert response.status_code == 401
        [error] = response.json()["errors"]
        assert error["extensions"] == {"code": "UNAUTHENTICATED"}
        assert error["message"].startswith("an API key is required")
    assert list((tmp_path / "media").glob("*")) == []
