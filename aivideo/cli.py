"""The `aivideo` command: serve, worker, migrate, export-schema, and the client commands."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aivideo.client_cli import add_client_commands, version_line
from aivideo.logging_setup import configure_logging
from aivideo.startup_checks import (
    StartupError,
    bind_port,
    check_services,
    describe_invalid_settings,
    without_password,
)

try:
    from aivideo.settings import settings
except ValidationError as invalid:  # a bad AIVIDEO_* value: one line, not a traceback
    sys.exit(f"aivideo: {describe_invalid_settings(invalid)}")


# uvicorn's websockets, for many idle subscriptions per process (the test servers use them
# too): no per-message deflate, whose zlib state per socket cost more memory and CPU than
# the small JSON frames it saves; wsproto, whose connection state is smaller than
# websockets-sansio's (it keeps no handshake headers).
WEBSOCKETS: dict[str, Any] = {"ws": "wsproto", "ws_per_message_deflate": False}


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from aivideo.access import is_loopback
    from aivideo.app import create_app
    from aivideo.data_dir_lock import DataDirInUse, lock_data_dir
    from aivideo.tracing import API_SERVICE, configure_tracing

    settings.host, settings.port = args.host, args.port
    keys_required = settings.auth == "required" or not is_loopback(args.host)
    if settings.s3_bucket and keys_required and not settings.secret_key:
        sys.exit(
            "aivideo: set AIVIDEO_SECRET_KEY: with media in S3 and API keys required, every "
            "API process must sign media URLs with the same secret"
        )
    lock = None  # held, not used: the data directory is ours while this process lives
    if settings.is_sqlite or not settings.redis_url:
        try:
            lock = lock_data_dir(settings.data_dir)
        except DataDirInUse as exc:
            sys.exit(f"aivideo: {exc}")
    # The port first, then the services: nothing is migrated for a server that cannot start.
    listening = bind_port(args.host, args.port)
    asyncio.run(check_services(settings.database_url, settings.redis_url))
    configure_logging(settings)
    configure_tracing(settings, API_SERVICE)
    print(f"aivideo: GraphiQL at http://{_display_host(args.host)}:{args.port}/graphql", flush=True)
    database = without_password(settings.database_url)
    print(f"aivideo: database {database}, files in {settings.data_dir}", flush=True)
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        **WEBSOCKETS,
        "log_config": None,
        "log_level": settings.log_level,  # logging is configured above
    }
    try:
        if args.workers > 1:
            _serve_workers(args, listening, options)
        else:
            uvicorn.Server(uvicorn.Config(create_app(settings), **options)).run(sockets=[listening])
    finally:
        if lock is not None:
            lock.close()


def _serve_workers(args: argparse.Namespace, listening: Any, options: dict[str, Any]) -> None:
    """`--workers N` API processes sharing the port: events and jobs must go through Redis."""
    import os

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if not settings.redis_url or settings.is_sqlite:
        sys.exit(
            "aivideo: --workers needs REDIS_URL and a PostgreSQL DATABASE_URL: in the embedded "
            "default, events and jobs live inside one process"
        )
    # Each worker builds its app from the environment: pass on what the flags chose.
    os.environ["AIVIDEO_HOST"], os.environ["AIVIDEO_PORT"] = args.host, str(args.port)
    config = uvicorn.Config("aivideo.app:create_app", factory=True, workers=args.workers, **options)
    Multiprocess(config, sockets=[listening]).run()


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _migrate(_: argparse.Namespace) -> None:
    from aivideo.db import create_engine
    from aivideo.migrate import migrate

    async def run() -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(settings.database_url)
        await migrate(engine)
        await engine.dispose()

    asyncio.run(run())
    print("aivideo: database is at the newest migration")


def _api_key_command(args: argparse.Namespace) -> None:
    """create-api-key / revoke-api-key, on the configured database."""
    from aivideo.db import create_engine, create_sessionmaker
    from aivideo.domain.api_keys import create_api_key, revoke_api_key
    from aivideo.errors import AivideoError
    from aivideo.migrate import migrate

    async def run() -> str:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(settings.database_url)
        if settings.is_sqlite:
            await migrate(engine)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                if args.command == "revoke-api-key":
                    owner = await revoke_api_key(session, key=args.key)
                    return f"aivideo: revoked a key of owner {owner!r}"
                _, key = await create_api_key(session, owner=args.owner)
                return key
        finally:
            await engine.dispose()

    try:
        print(asyncio.run(run()))
    except AivideoError as exc:
        sys.exit(f"aivideo: {exc}")
    if args.command == "create-api-key":
        print(
            f"aivideo: API key for owner {args.owner!r}; it is shown only this once",
            file=sys.stderr,
        )


def _export_schema(args: argparse.Namespace) -> None:
    from aivideo.schema.schema import build_schema

    Path(args.output).write_text(build_schema(settings).as_str() + "\n")
    print(f"aivideo: wrote {args.output}")


def _worker(args: argparse.Namespace) -> None:
    from redis.exceptions import AuthenticationError
    from taskiq.cli.worker.args import WorkerArgs
    from taskiq.cli.worker.run import run_worker

    from aivideo.pipeline.redis_wait import display_url, wait_for_redis
    from aivideo.tracing import WORKER_SERVICE, configure_tracing

    if not settings.redis_url:
        sys.exit("aivideo worker needs REDIS_URL: in the embedded default jobs run inside `serve`")
    configure_logging(settings)  # the worker processes are forked: they inherit it
    configure_tracing(settings, WORKER_SERVICE)  # and this too
    if args.health_port is not None:
        from aivideo.worker_health import start_health_server

        start_health_server(settings, args.health_port)

    def say(message: str) -> None:
        print(f"aivideo worker: {message}", file=sys.stderr, flush=True)

    # Workers start once Redis answers: until then, one plain line instead of tracebacks.
    try:
        asyncio.run(wait_for_redis(settings.redis_url, say=say))
    except KeyboardInterrupt:
        sys.exit(130)
    except AuthenticationError as exc:
        sys.exit(f"aivideo worker: Redis at {display_url(settings.redis_url)} refused us: {exc}")
    worker_args = WorkerArgs.from_cli(
        [
            "aivideo.worker:build_worker_broker",
            "--workers",
            str(args.workers),
            "--no-configure-logging",
        ]
    )
    sys.exit(run_worker(worker_args) or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aivideo", description=__doc__)
    parser.add_argument("--version", action="version", version=version_line())
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the API (and, embedded, the jobs)")
    serve.add_argument(
        "--host", default=settings.host, help="address to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--port", type=int, default=settings.port, help="port to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="API processes sharing the port, to use more cores; needs REDIS_URL and "
        "PostgreSQL (default: %(default)s)",
    )
    serve.set_defaults(run=_serve)
    commands.add_parser("migrate", help="upgrade the database schema").set_defaults(run=_migrate)
    key = commands.add_parser("create-api-key", help="print a new API key for an owner")
    key.add_argument("--owner", required=True, help="the owner the key acts as")
    key.set_defaults(run=_api_key_command)
    revoke = commands.add_parser("revoke-api-key", help="revoke an API key")
    revoke.add_argument("key", help="the key to revoke")
    revoke.set_defaults(run=_api_key_command)
    export = commands.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    export.add_argument("--output", "-o", default="schema.graphql", help="(default: %(default)s)")
    export.set_defaults(run=_export_schema)
    worker = commands.add_parser("worker", help="run job workers against REDIS_URL")
    worker.add_argument(
        "--workers", type=int, default=1, help="worker processes (default: %(default)s)"
    )
    worker.add_argument(
        "--health-port",
        type=int,
        default=None,
        help="serve /healthz and /readyz on this port (default: none)",
    )
    worker.set_defaults(run=_worker)
    add_client_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except StartupError as exc:
        sys.exit(f"aivideo: {exc}")


if __name__ == "__main__":
    main()
