"""Input limits (SPEC Access): checked before any expensive work; a refusal changes nothing."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont

from aivideo.providers.local_render import _wrap
from tests import api
from tests.conftest import Server
from tests.test_edit_rules import phase2, unchanged
from tests.test_manual_run import upload

__all__ = ["phase2"]  # the fixture, used by name


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


async def test_a_prompt_override_over_1000_characters_is_refused(
    server: Server, phase2: dict[str, Any]
) -> None:
    error = await server.gql_error(
        api.REGENERATE_BEAT, {"id": phase2["id"], "index": 0, "prompt": "x" * 1001}
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == "promptOverride must be at most 1,000 characters; it has 1,001"
    await unchanged(server, phase2)


@pytest.fixture
def measured(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every text the renderer measures (captions are fitted by measuring)."""
    lengths: list[int] = []
    textlength = ImageDraw.ImageDraw.textlength

    def counting(self: ImageDraw.ImageDraw, text: str, *args: Any, **kwargs: Any) -> float:
        lengths.append(len(text))
        return textlength(self, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "textlength", counting)
    return lengths


@pytest.mark.parametrize(
    "prompt",
    ["w" * 1000, " ".join(letter * 249 for letter in "wxyz")],
    ids=["one 1000-character word", "four 249-character words"],
)
async def test_long_words_render_at_a_bounded_cost(
    server: Server, phase2: dict[str, Any], measured: list[int], prompt: str
) -> None:
    # when a beat is regenerated with a prompt of over-long words
    variables = {"id": phase2["id"], "index": 0, "prompt": prompt}
    regenerated = (await server.gql(api.REGENERATE_BEAT, variables))["regenerateBeat"]

    # then it renders, measuring a few lines' worth (a character at a time was 180 calls)
    assert (regenerated["version"], regenerated["metadata"]["prompt"]) == (2, prompt)
    assert len(measured) <= 40
    assert sum(measured) <= 8 * len(prompt)


def test_caption_cost_does_not_grow_with_the_text(measured: list[int]) -> None:
    # given captions of four long words, the second ten times longer
    image = Image.new("RGB", (1280, 720))
    draw, font = ImageDraw.Draw(image), ImageFont.load_default(size=28)
    costs = []
    for size in (249, 2500):
        measured.clear()
        lines = _wrap(draw, " ".join(letter * size for letter in "wxyz"), font, 998)
        costs.append(len(measured))
        # then three full lines, the last cut with an ellipsis
        assert [line[0] for line in lines] == ["w", "w", "w"] and lines[-1].endswith("…")
        assert all(draw.textlength(line, font=font) <= 998 for line in lines)

    # and ten times the text costs a few more binary-search steps, not ten times the work
    # (trimming a character at a time measured about 180 and 2,400 times)
    assert max(costs) <= 50


@pytest.fixture
async def phase1(server: Server) -> dict[str, Any]:
    video = await api.paused_video(server)
    return api.newest(video["checkpoints"], phase=1)


async def test_a_beat_prompt_over_1000_characters_is_refused(
    server: Server, phase1: dict[str, Any]
) -> None:
    # given the spec's beats with a new prompt of 1,001 characters for the last one
    beats = [dict(b) for b in api.artifact(phase1, "spec")["data"]["beats"]]
    beats[-1]["prompt"] = "x" * 1001

    # when the beats are patched
    error = await server.gql_error(api.EDIT_SPEC, {"id": phase1["id"], "patch": {"beats": beats}})

    # then
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == (
        f"invalid spec: beats[{len(beats) - 1}].prompt must be at most 1,000 characters; "
        "it has 1,001"
    )
    await unchanged(server, phase1)


async def test_a_spec_over_64_kb_is_refused(server: Server, phase1: dict[str, Any]) -> None:
    # given a title that makes the spec 70,000 bytes of JSON and more
    spec = api.artifact(phase1, "spec")["data"]
    title = "t" * 70_000
    size = len(json.dumps({**spec, "title": title}, separators=(",", ":")).encode())

    # when it is patched in
    error = await server.gql_error(api.EDIT_SPEC, {"id": phase1["id"], "patch": {"title": title}})

    # then
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == (
        f"the spec would be {size:,} bytes of JSON; at most 65,536 (64 KB) are accepted: "
        "shorten its text"
    )
    await unchanged(server, phase1)
