"""The `aivideo` command as a user runs it: serve, migrate, export-schema; docker-compose."""

from __future__ import annotations

import os
import shutil
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
        assert command[0] == "aivideo" and command[1] in (commands or {})
    for name in ("api", "worker"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert env["REDIS_URL"].startswith("redis://")

    # one image, built once and shared; restarted when they die; probed on /readyz
    aivideo = [name for name, s in services.items() if s.get("image") == services["api"]["image"]]
    assert set(aivideo) == {"migrate", "api", "worker"}
    assert [name for name in aivideo if "build" in services[name]] == ["api"]
    for name in ("postgres", "redis", "api", "worker"):
        assert services[name]["restart"] in ("always", "unless-stopped")
    for name, port in (("api", "8000"), ("worker", "8001")):
        assert f"127.0.0.1:{port}/readyz" in " ".join(services[name]["healthcheck"]["test"])
    assert services["worker"]["command"][-2:] == ["--health-port", "8001"]
    # Redis keeps queued jobs across restarts: append-only, on a volume
    assert "--appendonly" in services["redis"]["command"]
    assert any(v.endswith(":/data") for v in services["redis"]["volumes"])
    # secrets come from .env, never from the file
    assert services["api"]["env_file"] == ".env"
    assert services["api"]["environment"]["AIVIDEO_SECRET_KEY"].startswith("${AIVIDEO_SECRET_KEY")
    assert "${POSTGRES_PASSWORD" in services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    # MinIO only with the s3 profile
    assert services["minio"]["profiles"] == ["s3"]
    assert {n for n, s in services.items() if "profiles" not in s} == {
        "postgres",
        "redis",
        "migrate",
        "api",
        "worker",
    }


def test_env_example_lists_every_setting() -> None:
    from aivideo.settings import Settings

    listed = (ROOT / ".env.example").read_text()
    for name, field in Settings.model_fields.items():
        aliases = field.validation_alias.choices if field.validation_alias else []  # type: ignore[union-attr]
        names = [a for a in aliases if isinstance(a, str)] or [f"AIVIDEO_{name.upper()}"]
        assert any(f"{env}=" in listed for env in names), f"{names[0]} is not in .env.example"


@pytest.mark.skipif(
    bool(
        subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False
        ).returncode
    )
    if shutil.which("docker")
    else True,
    reason="no docker binary with the compose plugin here",
)
def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    # given the file beside a .env made from .env.example with its two required values
    for name in ("docker-compose.yml", "Dockerfile"):
        shutil.copy(ROOT / name, tmp_path / name)
    example = (ROOT / ".env.example").read_text()
    filled = example.replace("AIVIDEO_SECRET_KEY=\n", "AIVIDEO_SECRET_KEY=k\n")
    (tmp_path / ".env").write_text(filled.replace("POSTGRES_PASSWORD=\n", "POSTGRES_PASSWORD=p\n"))
    # when compose resolves it, S3 profile included, then it finds nothing wrong
    result = subprocess.run(
        ["docker", "compose", "--profile", "s3", "config", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_image_is_multi_stage_locked_and_unprivileged() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    assert sum(line.startswith("FROM ") for line in lines) == 2
    assert "-c requirements.lock" in " ".join(lines)
    assert not any(" -e " in line or "--editable" in line for line in lines)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert any(line.startswith("HEALTHCHECK") for line in lines)
    assert "/readyz" in (ROOT / "Dockerfile").read_text()
