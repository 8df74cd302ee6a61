"""PostgreSQL and Redis servers of a test's own, to stop and start again.

The shared servers of the suite are never stopped; these are. Missing binaries skip the
test, or fail it under AIVIDEO_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.conftest import unavailable
from tests.test_cli import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _wait_until(ready: object, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not start within {seconds:g} s")


@dataclass
class ThrowawayRedis:
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.2).ping())
        except redis.ConnectionError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        _wait_until(self._answers, "redis-server")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None


@contextmanager
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    if shutil.which("redis-server") is None:
        unavailable("redis-server", FileNotFoundError("redis-server is not installed"))
    server = ThrowawayRedis(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class ThrowawayPostgres:
    port: int
    data: Path
    socket_dir: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *args]),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
        self._pg_ctl("-o", options, "-l", str(self.socket_dir / "log"), "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "stop")


def _as_postgres(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    if not (PG_BIN / "initdb").exists():
        unavailable("PostgreSQL 15 binaries", FileNotFoundError(str(PG_BIN / "initdb")))
    root = Path(tempfile.mkdtemp(prefix="aivideo-pg-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(root, account.pw_uid, account.pw_gid)
    server = ThrowawayPostgres(free_port(), root / "data", root)
    subprocess.run(
        _as_postgres([str(PG_BIN / "initdb"), "-D", str(server.data), "-A", "trust",
                      "-U", "postgres"]),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    server.start()
    try:
        yield server
    finally:
        with suppress(subprocess.CalledProcessError):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
