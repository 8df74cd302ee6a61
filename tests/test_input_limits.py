"""Input limits (SPEC Access): checked before any expensive work; a refusal changes nothing."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import pytest

from tests import api
from tests.conftest import Server
from tests.test_manual_run import upload

LATEST = "query($id: ID!) { checkpoint(id: $id) { edited artifacts { id key version } } }"


@pytest.fixture
async def phase2(server: Server) -> dict[str, Any]:
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)
    await api.continue_and_settle(server, phase1["id"])
    return api.newest((await api.video(server, video["id"]))["checkpoints"], phase=2)


async def unchanged(server: Server, checkpoint: dict[str, Any]) -> None:
    latest = (await server.gql(LATEST, {"id": checkpoint["id"]}))["checkpoint"]
    assert [(a["id"], a["version"]) for a in latest["artifacts"]] == [
        (a["id"], a["version"]) for a in checkpoint["artifacts"]
    ]


def black_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of any size: its all-black rows compress to almost nothing."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + checksum

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    rows = (b"\x00" * (1 + (width + 7) // 8)) * height  # filter byte, then the pixels
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


async def test_an_image_over_40_megapixels_is_refused_from_its_header(
    server: Server, phase2: dict[str, Any]
) -> None:
    # given a 6 KB PNG that would decode to 48 megapixels
    bomb = black_png(8000, 6000)
    assert len(bomb) < 10_000

    # when it is uploaded
    body = await upload(server, phase2["id"], 0, bomb, "bomb.png", "image/png")

    # then it is refused, saying why, and the storyboard is unchanged
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == (
        "the uploaded file cannot be used: the image is 8000x6000 (48.0 megapixels); "
        "at most 40 megapixels are accepted: scale it down"
    )
    await unchanged(server, phase2)


async def test_a_small_crafted_png_is_accepted(server: Server, phase2: dict[str, Any]) -> None:
    # The same construction at a normal size is a valid upload: the refusal is the size.
    body = await upload(server, phase2["id"], 0, black_png(640, 360), "small.png", "image/png")
    assert body["data"]["uploadBeatImage"]["version"] == 2
