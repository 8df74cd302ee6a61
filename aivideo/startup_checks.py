"""Checks before a command touches anything: bad settings become one clear line.

`serve` binds its port first (before the database is migrated), then makes sure the
database and Redis answer; each problem is a StartupError whose text is the line to print.
"""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError

CONNECT_TIMEOUT_SECONDS = 5.0


class StartupError(Exception):
    """A setting or the machine is not as the command needs it; the message says how."""


def describe_invalid_settings(error: ValidationError) -> str:
    """`AIVIDEO_PORT='abc' is not valid: Input should be a valid integer, …`, one setting."""
    first = error.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else "a setting"
    variable = name if name.isupper() else f"AIVIDEO_{name.upper()}"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{variable}={first.get('input')!r} is not valid: {first['msg']}{more}"


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def bind_port(host: str, port: int) -> socket.socket:
    """The listening socket `serve` hands to uvicorn, bound before anything else happens."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(f"cannot listen on {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does itself
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno in (98, 48):  # EADDRINUSE on Linux, macOS
            raise StartupError(
                f"port {port} on {host} is already in use (another aivideo serve?); "
                "choose another with --port or AIVIDEO_PORT"
            ) from None
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


async def check_database(url: str) -> None:
    """Connect once; an unreachable server or a refused login is a StartupError."""
    from aivideo.db import create_engine

    engine = create_engine(url)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS), engine.connect():
            pass
    except Exception as exc:  # whatever the driver raises, the user needs the one line
        raise StartupError(
            f"cannot reach the database at {without_password(url)} "
            f"({_reason(exc)}); check DATABASE_URL"
        ) from None
    finally:
        await engine.dispose()


async def check_redis(url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
            await client.ping()
    except Exception as exc:  # as above: one line, whatever redis-py raised
        raise StartupError(
            f"cannot reach Redis at {without_password(url)} ({_reason(exc)}); check REDIS_URL"
        ) from None
    finally:
        await client.aclose()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT_SECONDS:.0f} s"
    cause = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    return str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__


async def check_services(database_url: str, redis_url: str) -> None:
    """The database (unless the embedded SQLite file) and Redis (when set) answer."""
    if not database_url.startswith("sqlite"):
        await check_database(database_url)
    if redis_url:
        await check_redis(redis_url)
