"""The terminal workflow against a real server: create (with --wait), status, continue, open.

Also the first run: bad settings end `aivideo serve` with one clear line.
"""

from __future__ import annotations

import asyncio
import html
import re
import socket
import sys
from pathlib import Path

import pytest

from tests import api
from tests.browser import open_page, screenshot, screenshot_dir
from tests.conftest import Server
from tests.test_cli import AIVIDEO, embedded_env, free_port

# The commands talk to a server; its database does not matter to them.
ON_SQLITE = pytest.mark.parametrize("server", ["sqlite"], indirect=True)

VIDEO_ID = re.compile(r"^vid-[0-9a-f]{32}$")


async def aivideo(*args: str, tmp_path: Path, **env: str) -> tuple[int, list[str], str]:
    """Run `aivideo ARGS`; its exit code, stdout lines and stderr."""
    process = await asyncio.create_subprocess_exec(
        *AIVIDEO,
        *args,
        env={**embedded_env(tmp_path), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 180)
    assert process.returncode is not None
    return process.returncode, out.decode().splitlines(), err.decode()


@ON_SQLITE
async def test_create_yolo_wait_ends_with_the_final_videos_url(
    server: Server, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # when a YOLO video is made from the terminal, waiting for it
    code, out, err = await aivideo(
        "create",
        api.PROMPT,
        "--duration",
        "10",
        "--yolo",
        "--wait",
        tmp_path=tmp_path,
        AIVIDEO_URL=server.url,
    )

    # then stdout holds its id, then the final video's URL, which plays
    assert code == 0, err
    video_id, final_url = out
    assert VIDEO_ID.match(video_id)
    video = await api.video(server, video_id)
    assert video["status"] == "COMPLETE"
    # the same file (its signed token's expiry moves with the second it was signed in)
    assert final_url.split("?")[0] == video["finalVideo"]["url"].split("?")[0]
    assert final_url.startswith(server.url + "/media/")
    media = await server.http.get(final_url)
    assert media.status_code == 200 and media.headers["content-type"] == "video/mp4"
    # and stderr showed a bar per phase, all full, and the statuses on the way
    for label in ("1 plan", "2 storyboard", "3 clips", "4 music & final"):
        assert re.search(rf"{re.escape(label)}\s+━+ 100%", err), err
    assert "refining (branch main)" in err and "complete (branch main)" in err
    if screenshot_dir() is not None:
        command = f'$ aivideo create "{api.PROMPT}" --duration 10 --yolo --wait'
        await terminal_screenshot(request, "cli-create-wait", [command, *out[:1], err, *out[1:]])


async def terminal_screenshot(request: pytest.FixtureRequest, name: str, lines: list[str]) -> None:
    """The README's picture of a terminal session, rendered by the test browser."""
    browser = request.getfixturevalue("browser")
    tab = await open_page(browser, width=900, height=300)
    text = html.escape("\n".join(line.rstrip("\n") for line in lines))
    style = "background:#1d2330;color:#e8ebf1;font:14px/1.35 monospace;padding:16px;margin:0"
    await tab.page.set_content(f'<pre style="{style}; white-space: pre-wrap">{text}</pre>')
    await screenshot(tab.page, name)
    await tab.page.context.close()


@ON_SQLITE
async def test_review_from_the_terminal_status_and_continue(server: Server, tmp_path: Path) -> None:
    # given a video made without --yolo: --wait returns when phase 1 waits for review
    code, out, err = await aivideo(
        "create", api.PROMPT, "--duration", "10", "--wait", "--url", server.url, tmp_path=tmp_path
    )
    assert code == 0, err
    [video_id] = out
    checkpoint = api.newest((await api.video(server, video_id))["checkpoints"], phase=1)
    assert f"`aivideo continue {checkpoint['id']}` to go on" in err

    # status says where it stands
    code, out, err = await aivideo("status", video_id, "--url", server.url, tmp_path=tmp_path)
    assert code == 0, err
    assert out[1] == "status: PAUSED_AT_PHASE1  20%  phase 1"
    assert f"waiting for review: {checkpoint['id']} (phase 1, branch main)" in out
    assert "  branch main: PAUSED phase 1 20%  canContinue" in out

    # continue --wait runs phase 2 and stops at its review
    code, out, err = await aivideo(
        "continue", checkpoint["id"], "--wait", "--url", server.url, tmp_path=tmp_path
    )
    assert code == 0, err
    assert out == ["phase 2 runs on branch main"]
    assert "paused for review at phase 2" in err
    assert (await api.video(server, video_id))["status"] == "PAUSED_AT_PHASE2"

    # a refused continue is one line with the error's code, and a non-zero exit
    code, out, err = await aivideo(
        "continue", checkpoint["id"], "--branch", "main", "--url", server.url, tmp_path=tmp_path
    )
    assert code == 1 and out == []
    assert err.startswith("aivideo: CONFLICT: ") and err.count("\n") == 1


@ON_SQLITE
async def test_open_hands_the_review_page_to_the_browser(server: Server, tmp_path: Path) -> None:
    # given a video and a "browser" that writes down what it was asked to open
    created = await api.create_video(server)
    await server.settle()
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(f"import sys\nopen({str(opened)!r}, 'w').write(sys.argv[1])\n")

    code, out, err = await aivideo(
        "open",
        created["id"],
        "--url",
        server.url,
        tmp_path=tmp_path,
        BROWSER=f"{sys.executable} {browser} %s",
    )

    page = f"{server.url}/#video={created['id']}"
    assert code == 0, err
    assert out == [page]
    assert opened.read_text() == page


@ON_SQLITE
async def test_unknown_ids_and_an_absent_server_are_one_line(
    server: Server, tmp_path: Path
) -> None:
    code, out, err = await aivideo("status", "vid-nope", "--url", server.url, tmp_path=tmp_path)
    assert (code, out) == (1, [])
    assert err == "aivideo: NOT_FOUND: video 'vid-nope' does not exist\n"

    nobody = f"http://127.0.0.1:{free_port()}"
    code, out, err = await aivideo("status", "vid-nope", "--url", nobody, tmp_path=tmp_path)
    assert code == 1
    assert err.startswith(f"aivideo: cannot reach {nobody} (") and err.count("\n") == 1


@pytest.mark.parametrize("command", ["create", "status", "continue", "open"])
async def test_help_says_what_each_flag_does_and_its_default(command: str, tmp_path: Path) -> None:
    code, out, _ = await aivideo(command, "--help", tmp_path=tmp_path, AIVIDEO_URL="")
    text = " ".join(" ".join(out).split())
    assert code == 0
    assert "--url URL the aivideo server to talk to" in text
    assert "(default: $AIVIDEO_URL or http://127.0.0.1:8000" in text
    if command == "create":
        assert (
            "--duration DURATION length in seconds, 10 to 120 in steps of 5 (default: 30)" in text
        )
        assert "--yolo approve every phase" in text and "--wait stay and show" in text


async def test_version(tmp_path: Path) -> None:
    code, out, _ = await aivideo("--version", tmp_path=tmp_path)
    assert (code, out) == (0, ["aivideo 0.1.0"])


def serve_fails(tmp_path: Path, *args: str, **env: str) -> str:
    """Start `aivideo serve`, which must give up; its one line of stderr."""
    import subprocess

    result = subprocess.run(
        [*AIVIDEO, "serve", *args],
        env={**embedded_env(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stdout == "" and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_port_that_is_not_a_number(tmp_path: Path) -> None:
    line = serve_fails(tmp_path, AIVIDEO_PORT="abc")
    assert line == (
        "aivideo: AIVIDEO_PORT='abc' is not valid: "
        "Input should be a valid integer, unable to parse string as an integer"
    )


def test_a_port_in_use_stops_serve_before_it_migrates(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = serve_fails(tmp_path, "--port", str(port))
    assert line == (
        f"aivideo: port {port} on 127.0.0.1 is already in use (another aivideo serve?); "
        "choose another with --port or AIVIDEO_PORT"
    )
    assert not (tmp_path / "aivideo.db").exists()


def test_an_unreachable_database(tmp_path: Path) -> None:
    port = free_port()
    url = f"postgresql://aivideo:secret@127.0.0.1:{port}/aivideo"
    line = serve_fails(tmp_path, "--port", str(free_port()), DATABASE_URL=url)
    assert line.startswith(
        f"aivideo: cannot reach the database at postgresql+asyncpg://aivideo:***@127.0.0.1:{port}"
    )
    assert line.endswith("; check DATABASE_URL") and "secret" not in line


def test_an_unreachable_redis(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    line = serve_fails(tmp_path, "--port", str(free_port()), REDIS_URL=url)
    assert line.startswith(f"aivideo: cannot reach Redis at {url} (")
    assert line.endswith("; check REDIS_URL")
