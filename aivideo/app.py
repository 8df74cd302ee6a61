"""The FastAPI application: GraphQL at /graphql, media at /media, the review page at /."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from aivideo import metrics
from aivideo.access import AccessCache, Caller, identify
from aivideo.bootstrap import build_jobs, start_runtime, stop_runtime
from aivideo.domain import runs
from aivideo.graphql_router import AivideoGraphQLRouter
from aivideo.graphql_websockets import GraphQLWebsockets
from aivideo.media_routes import router as media_router
from aivideo.readiness import check, redis_client
from aivideo.request_guards import RequestGuard
from aivideo.request_ids import RequestIds
from aivideo.runtime import Runtime
from aivideo.schema.context import Context
from aivideo.schema.loaders import Loaders
from aivideo.schema.schema import build_schema
from aivideo.settings import Settings, settings
from aivideo.tracing import instrument_app
from aivideo.web.routes import mount_web

log = logging.getLogger(__name__)


def _base_url(runtime: Runtime, connection: Request | WebSocket) -> str:
    if runtime.settings.public_url:
        return runtime.settings.public_url.rstrip("/")
    url = str(connection.base_url).rstrip("/")
    return url.replace("ws://", "http://", 1).replace("wss://", "https://", 1)


async def get_context(request: Request = None, websocket: WebSocket = None) -> Context:  # type: ignore[assignment]
    connection = request or websocket
    assert connection is not None
    runtime: Runtime = connection.app.state.runtime
    # RequestGuard has already authenticated a request with a body; others are looked up here.
    caller = getattr(connection.state, "caller", None)
    if not isinstance(caller, Caller):
        # Websocket clients may instead authenticate in connection_init (on_ws_connect).
        caller = await identify(
            runtime, connection.headers.get("authorization"), connection.app.state.access
        )
    return Context(
        runtime=runtime,
        caller=caller,
        base_url=_base_url(runtime, connection),
        loaders=Loaders(runtime.sessions),
    )


async def resume_interrupted_runs(runtime: Runtime) -> None:
    """In-process jobs die with the process: pick up what the last one left unfinished."""
    async with runtime.transaction() as session:
        resumed = await runs.requeue_interrupted(session)
    if resumed:
        log.info("resumed %d interrupted phase run(s)", len(resumed))


def create_app(config: Settings = settings) -> FastAPI:
    """The ASGI app; its lifespan starts the runtime and, in-process, the job broker."""
    jobs = build_jobs(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start_runtime(config, jobs)
        app.state.runtime, app.state.jobs = runtime, jobs
        # Its own client: short timeouts that the event broker's connections do not have.
        app.state.probe_redis = redis_client(config.redis_url) if config.redis_url else None
        await jobs.broker.startup()
        if not config.redis_url:
            await resume_interrupted_runs(runtime)
        # What start-up made (modules, the schema, caches) lives as long as the process: out
        # of the collector's reach, a full collection no longer walks it (a pause of tenths
        # of a second with thousands of open websockets).
        gc.freeze()
        try:
            yield
        finally:
            await jobs.broker.shutdown()
            if app.state.probe_redis is not None:
                await app.state.probe_redis.aclose()
            await stop_runtime(runtime, jobs)

    app = FastAPI(title="aivideo", lifespan=lifespan)
    # One cache of the key table per app, for every request, handshake and open websocket.
    access = app.state.access = AccessCache(config.api_key_recheck_seconds)
    graphql = AivideoGraphQLRouter(
        build_schema(config),
        context_getter=get_context,
        graphql_ide="graphiql",
        multipart_uploads_enabled=True,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
        max_subscriptions_per_connection=config.websocket_max_operations,
        access=access,
    )
    app.include_router(graphql, prefix="/graphql")
    # Innermost: its websockets still pass the two below (graphql_websockets.py).
    app.add_middleware(
        GraphQLWebsockets, router=graphql, path="/graphql", context_getter=get_context
    )
    app.add_middleware(RequestGuard)
    app.add_middleware(RequestIds)  # outermost: a refused request's lines carry its id too
    app.include_router(media_router)
    mount_web(app)
    instrument_app(app, config)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers; it asks no other service."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: 200 when the database and Redis (if configured) answer, else 503."""
        runtime: Runtime = request.app.state.runtime
        readiness = await check(
            engine=runtime.engine,
            database_url=config.database_url,
            redis=request.app.state.probe_redis,
            redis_url=config.redis_url,
        )
        return JSONResponse(readiness.body(), status_code=200 if readiness.ready else 503)

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        """Prometheus text format; every process's values when PROMETHEUS_MULTIPROC_DIR is set."""
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    return app
