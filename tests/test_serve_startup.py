"""`aivideo serve` start-up (SPEC Access): one process per data directory, owner-only files,
no secret-less S3 deployment, no password printed."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import httpx

from tests.conftest import TEST_DATABASE_URL
from tests.service_process import AIVIDEO, Client, process_env, serving
from tests.test_cli import free_port

VIDEO_COUNT = "{ videos { totalCount } }"
FILES = ("aivideo.db", "media-secret", "serve.lock")


async def serve_until_exit(data_dir: Path, **env: str) -> tuple[int, str]:
    """Run `aivideo serve`, which must end by itself; its exit code and stderr."""
    process = await asyncio.create_subprocess_exec(
        *AIVIDEO,
        "serve",
        "--port",
        str(free_port()),
        env=process_env(data_dir, **env),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(process.communicate(), 60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError("aivideo serve kept running") from None
    assert process.returncode is not None
    return process.returncode, err.decode()


async def test_a_second_serve_on_the_same_data_directory_exits_first(tmp_path: Path) -> None:
    async with serving(tmp_path) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        # given a YOLO video under way on the first server
        client = Client(url, http, None)
        created = await client.create_video("A kite climbs over a windy beach.", autoContinue=True)

        # when a second serve starts on the same directory
        code, err = await serve_until_exit(tmp_path)

        # then it exits with one line, and the first one's video completes once
        assert code == 1
        assert err == (
            f"aivideo: another aivideo serve is using {tmp_path}; stop it first, or give this "
            "one its own AIVIDEO_DATA_DIR\n"
        )
        video = await client.wait_for(created["id"], "COMPLETE")
        assert [c["phase"] for c in video["checkpoints"]] == [1, 2, 3, 4]


async def test_s3_with_keys_required_needs_a_secret_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "never-made"

    code, err = await serve_until_exit(
        data_dir, AIVIDEO_S3_BUCKET="media", AIVIDEO_AUTH="required", AIVIDEO_SECRET_KEY=""
    )

    assert code == 1
    assert err == (
        "aivideo: set AIVIDEO_SECRET_KEY: with media in S3 and API keys required, every API "
        "process must sign media URLs with the same secret\n"
    )
    assert not data_dir.exists()


async def test_serve_prints_the_database_url_without_its_password(tmp_path: Path) -> None:
    # given a PostgreSQL URL with a password (the local server trusts it; it is never checked)
    user_and_host = TEST_DATABASE_URL.split("://", 1)[1]
    user, _, rest = user_and_host.partition("@")
    url = f"postgresql://{user}:hunter2@{rest}"
    process = await asyncio.create_subprocess_exec(
        *AIVIDEO,
        "serve",
        "--port",
        str(free_port()),
        env=process_env(tmp_path, DATABASE_URL=url, REDIS_URL="redis://127.0.0.1:6379/15"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        # when
        assert process.stdout is not None
        lines = [(await asyncio.wait_for(process.stdout.readline(), 60)).decode() for _ in "ab"]
    finally:
        process.terminate()
        await process.wait()

    # then
    assert lines[1] == (
        f"aivideo: database postgresql+asyncpg://{user}:***@{rest}, files in {tmp_path}\n"
    )


async def test_a_new_data_directory_and_its_files_are_owner_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"

    async with serving(data_dir) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await Client(url, http, None).gql(VIDEO_COUNT))["videos"]["totalCount"] == 0

    modes = {name: stat.S_IMODE((data_dir / name).stat().st_mode) for name in FILES}
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert modes == dict.fromkeys(FILES, 0o600)
