"""The `aivideo` command: serve, worker, migrate, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from aivideo.settings import settings


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from aivideo.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings.host, settings.port = args.host, args.port
    print(f"aivideo: GraphiQL at http://{_display_host(args.host)}:{args.port}/graphql", flush=True)
    print(f"aivideo: database {settings.database_url}, files in {settings.data_dir}", flush=True)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")


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

    if not settings.redis_url:
        sys.exit("aivideo worker needs REDIS_URL: in the embedded default jobs run inside `serve`")

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
        ["aivideo.worker:build_worker_broker", "--workers", str(args.workers)]
    )
    sys.exit(run_worker(worker_args) or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aivideo", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the API (and, embedded, the jobs)")
    serve.add_argument("--host", default=settings.host)
    serve.add_argument("--port", type=int, default=settings.port)
    serve.set_defaults(run=_serve)
    commands.add_parser("migrate", help="upgrade the database schema").set_defaults(run=_migrate)
    key = commands.add_parser("create-api-key", help="print a new API key for an owner")
    key.add_argument("--owner", required=True, help="the owner the key acts as")
    key.set_defaults(run=_api_key_command)
    revoke = commands.add_parser("revoke-api-key", help="revoke an API key")
    revoke.add_argument("key", help="the key to revoke")
    revoke.set_defaults(run=_api_key_command)
    export = commands.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    export.add_argument("--output", "-o", default="schema.graphql")
    export.set_defaults(run=_export_schema)
    worker = commands.add_parser("worker", help="run job workers against REDIS_URL")
    worker.add_argument("--workers", type=int, default=1)
    worker.set_defaults(run=_worker)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
