"""`/healthz` and `/readyz` for a worker process, on a port of its own (`--health-port`).

A worker has no HTTP server; this is a tiny one in a daemon thread, so orchestrators can
probe workers as they probe the API. Each `/readyz` asks the database and Redis afresh
(bounded by readiness.CHECK_TIMEOUT_SECONDS), on connections it closes again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from aivideo.readiness import Readiness, check, redis_client

if TYPE_CHECKING:
    from aivideo.settings import Settings

log = logging.getLogger(__name__)


async def _readiness(config: Settings) -> Readiness:
    from aivideo.db import create_engine

    engine = create_engine(config.database_url)
    redis = redis_client(config.redis_url) if config.redis_url else None
    try:
        return await check(
            engine=engine, database_url=config.database_url, redis=redis, redis_url=config.redis_url
        )
    finally:
        if redis is not None:
            await redis.aclose()
        await engine.dispose()


def _handler(config: Settings) -> type[BaseHTTPRequestHandler]:
    class Probe(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._answer(200, {"status": "ok"})
            elif self.path == "/readyz":
                readiness = asyncio.run(_readiness(config))
                self._answer(200 if readiness.ready else 503, readiness.body())
            else:
                self._answer(404, {"status": "not found", "paths": ["/healthz", "/readyz"]})

        def _answer(self, status: int, body: dict[str, object]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass  # a probe every few seconds is not news

    return Probe


def start_health_server(config: Settings, port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """Serve the probes from a daemon thread; the caller may `shutdown()` it."""
    server = ThreadingHTTPServer((host, port), _handler(config))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="health", daemon=True)
    thread.start()
    log.info("worker probes at http://%s:%d/healthz and /readyz", host, server.server_port)
    return server
