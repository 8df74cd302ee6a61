"""Access (SPEC): API keys over HTTP and websockets, owners isolated, signed media URLs.

Each test server here is an `aivideo serve` process of its own, since creating a key
switches a server to requiring one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.typing import Subprotocol

from tests import api
from tests.service_process import STATUS_QUERY, Client, create_key, revoke_key, serving
from tests.ws_client import LEGACY_WS, TRANSPORT_WS, Subscription

VIDEO_COUNT = "{ videos { totalCount } }"


@dataclass
class KeyedServer:
    data_dir: Path
    alice: Client
    bob: Client
    anonymous: Client


@pytest.fixture(scope="module")
async def keyed(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KeyedServer]:
    data_dir = tmp_path_factory.mktemp("keyed")
    alice_key, bob_key = await create_key(data_dir, "alice"), await create_key(data_dir, "bob")
    # Keys are re-checked every second here (at most every 10 s, SPEC): the revocation test
    # waits for that, not for the default.
    async with (
        serving(data_dir, AIVIDEO_API_KEY_RECHECK_SECONDS="1") as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        yield KeyedServer(
            data_dir=data_dir,
            alice=Client(url, http, alice_key),
            bob=Client(url, http, bob_key),
            anonymous=Client(url, http, None),
        )


async def test_keys_are_shown_once_and_stored_as_hashes(keyed: KeyedServer) -> None:
    keys = [keyed.alice.key, keyed.bob.key]
    assert all(k and k.startswith("aiv_") and len(k) > 40 for k in keys)
    database = keyed.data_dir / "aivideo.db"
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT owner, key_hash FROM api_keys ORDER BY owner").fetchall()
    assert rows == [
        ("alice", hashlib.sha256(str(keyed.alice.key).encode()).hexdigest()),
        ("bob", hashlib.sha256(str(keyed.bob.key).encode()).hexdigest()),
    ]
    assert str(keyed.alice.key).encode() not in database.read_bytes()


async def test_a_key_is_required_once_one_exists(keyed: KeyedServer) -> None:
    before = (await keyed.alice.gql(VIDEO_COUNT))["videos"]["totalCount"]
    create = {"input": {"prompt": api.PROMPT, "durationSeconds": 10}}
    wrong = Client(keyed.alice.url, keyed.alice.http, "aiv_not-a-real-key")
    for client in (keyed.anonymous, wrong):
        assert await client.error_code(VIDEO_COUNT) == "UNAUTHENTICATED"
        assert await client.error_code(api.CREATE_VIDEO, create) == "UNAUTHENTICATED"
    response = await keyed.alice.http.post(
        "/graphql", json={"query": VIDEO_COUNT}, headers={"Authorization": "Basic abc"}
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await keyed.alice.gql(VIDEO_COUNT))["videos"]["totalCount"] == before


async def test_another_owners_video_does_not_exist(keyed: KeyedServer) -> None:
    # given alice's video at phase 2
    created = await keyed.alice.create_video("A violinist plays to an empty station at midnight.")
    paused = await keyed.alice.wait_for(created["id"], "PAUSED_AT_PHASE1")
    phase1 = paused["checkpoints"][0]
    await keyed.alice.gql(api.CONTINUE, {"id": phase1["id"]})
    video = await keyed.alice.wait_for(created["id"], "PAUSED_AT_PHASE2")
    phase2 = video["checkpoints"][-1]
    beat = phase2["artifacts"][0]

    # then, for bob, none of it exists, even where alice's answer is kept (asked twice)
    for _ in range(2):
        assert (await keyed.alice.gql(api.VIDEO, {"id": created["id"]}))["video"]
    bob = keyed.bob
    for query, variables in [
        (api.VIDEO, {"id": created["id"]}),
        ("query($id: ID!) { checkpoint(id: $id) { id } }", {"id": phase1["id"]}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": created["id"]}),
        (api.CONTINUE, {"id": phase1["id"]}),
        (api.EDIT_SPEC, {"id": phase1["id"], "patch": {"title": "mine now"}}),
        (api.REGENERATE_BEAT, {"id": phase2["id"], "index": 0}),
        (api.CREATE_BRANCH, {"id": phase1["id"]}),
        (api.CANCEL, {"id": created["id"]}),
        (api.DELETE, {"id": created["id"]}),
    ]:
        assert await bob.error_code(query, variables) == "NOT_FOUND", query
    assert (await bob.gql(VIDEO_COUNT))["videos"]["totalCount"] == 0
    after = (await keyed.alice.gql(STATUS_QUERY, {"id": created["id"]}))["video"]
    assert after["status"] == "PAUSED_AT_PHASE2" and len(after["checkpoints"]) == 2

    # and the media URL alice was given works for her browser, and for no one else
    http = keyed.alice.http
    assert (await http.get(beat["url"])).status_code == 200
    path = beat["url"].split("?")[0]
    assert (await http.get(path)).status_code == 404
    assert (await http.get(path, headers=bob.headers)).status_code == 404
    assert (await http.get(path, headers=keyed.alice.headers)).status_code == 200
    tampered = beat["url"][:-4] + ("0000" if not beat["url"].endswith("0000") else "1111")
    assert (await http.get(tampered)).status_code == 404
    stolen = beat["url"].replace(beat["sha256"], "0" * 64)
    assert (await http.get(stolen)).status_code == 404


STATUS_SUB = "subscription($id: ID!) { videoStatus(videoId: $id) { status } }"
ALL_CHECKPOINTS = "subscription { checkpointCreated { videoId phase } }"


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_websockets_take_the_key_in_connection_init(
    keyed: KeyedServer, protocol: str
) -> None:
    # without a key the connection is refused
    async with websockets.connect(keyed.alice.ws_url, subprotocols=[Subprotocol(protocol)]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        if protocol == TRANSPORT_WS:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
        else:
            refusal = json.loads(await ws.recv())
            assert refusal["type"] == "connection_error"
            assert refusal["payload"]["code"] == "UNAUTHENTICATED"

    # with keys: alice hears her checkpoints, bob hears nothing of them
    alice_init = {"Authorization": f"Bearer {keyed.alice.key}"}
    bob_init = {"Authorization": f"Bearer {keyed.bob.key}"}
    async with (
        Subscription(keyed.alice.ws_url, protocol, ALL_CHECKPOINTS, {}, alice_init) as alice,
        Subscription(keyed.bob.ws_url, protocol, ALL_CHECKPOINTS, {}, bob_init) as bob,
    ):
        created = await keyed.alice.create_video("A snail crosses a garden path before the rain.")
        event = (await alice.next())["data"]["checkpointCreated"]
        assert event == {"videoId": created["id"], "phase": 1}
        assert await bob.nothing_within(0.5)

    async with Subscription(
        keyed.bob.ws_url, protocol, STATUS_SUB, {"id": created["id"]}, bob_init
    ) as sub:
        result = await sub.next()
    assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("args", "env"),
    [((), {"AIVIDEO_AUTH": "required"}), (("--host", "0.0.0.0"), {})],
    ids=["AIVIDEO_AUTH=required", "listening beyond loopback"],
)
async def test_a_key_is_required_without_any_key_when(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str]
) -> None:
    async with serving(tmp_path, *args, env=env) as url, httpx.AsyncClient(base_url=url) as http:
        client = Client(url, http, None)
        assert await client.error_code(VIDEO_COUNT) == "UNAUTHENTICATED"


async def test_a_loopback_server_without_keys_is_open_as_local(tmp_path: Path) -> None:
    async with serving(tmp_path) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await Client(url, http, None).gql(VIDEO_COUNT))["videos"]["totalCount"] == 0


async def test_a_revoked_key_stops_working(keyed: KeyedServer) -> None:
    carol = Client(keyed.alice.url, keyed.alice.http, await create_key(keyed.data_dir, "carol"))
    assert (await carol.gql(VIDEO_COUNT))["videos"]["totalCount"] == 0

    assert (
        await revoke_key(keyed.data_dir, str(carol.key))
        == "aivideo: revoked a key of owner 'carol'"
    )

    # the server trusts its last look-up of a key for the recheck period (1 s here), no more
    deadline = asyncio.get_running_loop().time() + 5
    while (body := await carol.raw(VIDEO_COUNT)).get("data"):
        assert asyncio.get_running_loop().time() < deadline, "the revoked key still works"
        await asyncio.sleep(0.1)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    await keyed.alice.gql(VIDEO_COUNT)  # other keys are untouched


async def test_generation_requests_are_limited_per_owner(tmp_path: Path) -> None:
    # given a server allowing each owner two generation requests a minute
    alice_key, bob_key = await create_key(tmp_path, "alice"), await create_key(tmp_path, "bob")
    create = {"input": {"prompt": api.PROMPT, "durationSeconds": 10}}
    async with (
        serving(tmp_path, AIVIDEO_RATE_LIMIT="2/minute") as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        alice, bob = Client(url, http, alice_key), Client(url, http, bob_key)
        for _ in range(2):
            await alice.gql(api.CREATE_VIDEO, create)

        # when alice asks a third time
        body = await alice.raw(api.CREATE_VIDEO, create)

        # then she is told to wait, nothing was made, and bob is not affected
        [error] = body["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert "the limit is 2 per 1 minute per owner; try again in" in error["message"]
        assert (await alice.gql(VIDEO_COUNT))["videos"]["totalCount"] == 2
        await bob.gql(api.CREATE_VIDEO, create)


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_a_revoked_key_closes_its_open_websockets(tmp_path: Path, protocol: str) -> None:
    # given carol's subscription, and a second connection of hers, on a server re-checking
    # keys every 0.2 s
    carol_key = await create_key(tmp_path, "carol")
    init = {"Authorization": f"Bearer {carol_key}"}
    start = "subscribe" if protocol == TRANSPORT_WS else "start"
    create_input = {"prompt": api.PROMPT, "durationSeconds": 10}
    create = {"query": api.CREATE_VIDEO, "variables": {"input": create_input}}
    async with (
        serving(tmp_path, AIVIDEO_API_KEY_RECHECK_SECONDS="0.2") as url,
        Subscription(
            url.replace("http", "ws") + "/graphql", protocol, ALL_CHECKPOINTS, {}, init
        ) as subscription,
        Subscription(
            url.replace("http", "ws") + "/graphql", protocol, ALL_CHECKPOINTS, {}, init
        ) as second,
    ):
        # when her key is revoked
        await revoke_key(tmp_path, carol_key)

        # then the subscription's socket is closed
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await subscription.next(seconds=30)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
            4403,
            "the API key of this connection was revoked; reconnect with a live key",
        )
        # and a mutation over her other connection is refused, the socket closed
        with contextlib.suppress(websockets.ConnectionClosed):
            await second._send({"id": "2", "type": start, "payload": create})
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await second.next(seconds=30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    with sqlite3.connect(tmp_path / "aivideo.db") as db:
        assert db.execute("SELECT count(*) FROM videos").fetchone() == (0,)
