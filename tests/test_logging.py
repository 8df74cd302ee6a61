"""Logs: one line per event, JSON on request, with the ids of what it concerns, no secrets."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from aivideo.logging_setup import bind_ids, configure_logging
from aivideo.settings import Settings
from tests.test_cli import AIVIDEO, embedded_env, free_port

SECRET = "sk-test-0123456789abcdef"


@pytest.fixture
def captured(tmp_path: Path) -> Iterator[io.StringIO]:
    """The root logger writing JSON into a buffer; the test run's handlers are put back."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    config = Settings(
        data_dir=tmp_path,
        log_format="JSON",
        openai_api_key=SecretStr(SECRET),
        database_url="postgresql://app:pg-pass-77@db/app",
    )
    configure_logging(config, stream=stream)
    try:
        yield stream
    finally:
        root.handlers, root.level = saved[0], saved[1]


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_bound_and_extra_ids_are_fields_of_the_line(captured: io.StringIO) -> None:
    log = logging.getLogger("aivideo.test")
    with bind_ids(request_id="req-1", video_id="vid-1"), bind_ids(run_id="run-1"):
        log.info("phase %d started", 2, extra={"branch_id": "br-1"})
    log.warning("outside")
    first, second = lines(captured)
    assert first["message"] == "phase 2 started" and first["level"] == "info"
    assert first["logger"] == "aivideo.test"
    assert (first["request_id"], first["video_id"], first["run_id"], first["branch_id"]) == (
        "req-1",
        "vid-1",
        "run-1",
        "br-1",
    )
    assert second["message"] == "outside" and "request_id" not in second


def test_secrets_never_reach_a_line(captured: io.StringIO) -> None:
    log = logging.getLogger("aivideo.test")
    log.error("provider said: bad key %s for postgresql://app:pg-pass-77@db", SECRET)
    try:
        raise ValueError(f"token {SECRET}")
    except ValueError:
        log.exception("failed")
    text = captured.getvalue()
    assert SECRET not in text and "pg-pass-77" not in text
    assert "***" in lines(captured)[0]["message"]  # type: ignore[operator]
    assert len(lines(captured)) == 2  # a traceback stays inside its one line


def test_unknown_id_names_are_refused() -> None:
    with pytest.raises(ValueError, match="not a log id"), bind_ids(vidoe_id="x"):
        pass


def test_serve_logs_json_lines_with_the_request_id(tmp_path: Path) -> None:
    # given `aivideo serve` with JSON logs
    port = free_port()
    env = {**embedded_env(tmp_path), "AIVIDEO_LOG_FORMAT": "json", "AIVIDEO_OPENAI_API_KEY": SECRET}
    process = subprocess.Popen(
        [*AIVIDEO, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        # when a client sends its own request id, and another sends none
        given = httpx.get(url + "/readyz", headers={"X-Request-ID": "client-abc.1"})
        fresh = httpx.get(url + "/readyz")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    # then both are echoed, and every line is JSON, the access lines holding the ids
    assert given.headers["x-request-id"] == "client-abc.1"
    assert len(fresh.headers["x-request-id"]) == 32
    records = [json.loads(line) for line in stderr.splitlines()]
    access = [r for r in records if r["logger"] == "uvicorn.access" and "/readyz" in r["message"]]
    assert [r.get("request_id") for r in access] == ["client-abc.1", fresh.headers["x-request-id"]]
    assert SECRET not in stderr
