"""The `aivideo` command as a user runs it: serve, migrate, export-schema; docker-compose."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from alembic.script import ScriptDirectory

from aivideo.cli import build_parser
from aivideo.migrate import alembic_config

ROOT = Path(__file__).resolve().parent.parent
AIVIDEO = [sys.executable, "-m", "aivideo.cli"]


def embedded_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return {**env, "AIVIDEO_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    port = free_port()
    process = subprocess.Popen(
        [*AIVIDEO, "serve", "--port", str(port)],
        env=embedded_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    first_line = process.stdout.readline()
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield first_line, url
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_serve_prints_graphiql_and_answers(served: tuple[str, str]) -> None:
    first_line, url = served
    assert first_line.strip() == f"aivideo: GraphiQL at {url}/graphql"
    page = httpx.get(url + "/graphql", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    created = httpx.post(
        url + "/graphql",
        timeout=30,
        json={
            "query": "mutation { createVideo(input: "
            '{prompt: "A quiet harbour at dawn, gulls waking"}) { id status } }',
        },
    ).json()
    assert created["data"]["createVideo"]["status"] == "QUEUED"


def test_migrate_creates_the_embedded_database(tmp_path: Path) -> None:
    result = subprocess.run(
        [*AIVIDEO, "migrate"],
        env=embedded_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "aivideo.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = db.execute("SELECT version_num FROM alembic_version").fetchone()
    assert {"videos", "branches", "checkpoints", "artifacts", "runs", "api_keys"} <= tables
    assert version == (ScriptDirectory.from_config(alembic_config()).get_current_head(),)


def test_export_schema_writes_the_committed_file(tmp_path: Path) -> None:
    target = tmp_path / "schema.graphql"
    subprocess.run(
        [*AIVIDEO, "export-schema", "-o", str(target)],
        check=True,
        env=embedded_env(tmp_path),
        capture_output=True,
    )
    assert target.read_text() == (ROOT / "schema.graphql").read_text()


def test_compose_runs_the_production_shape() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "api", "worker"} <= set(services)
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in ("api", "worker", "migrate"):
        command = services[name]["command"]
        assert command[0] == "aivideo" and command[1] in commands
    for name in ("api", "worker"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert env["REDIS_URL"].startswith("redis://")
