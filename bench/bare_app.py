"""The baseline: a bare Strawberry + FastAPI app with one `hello` field and one subscription.

The benchmarks start it beside `aivideo serve` in the same run, with the same library
versions, so that their ratios cancel out the machine's speed and noise.
Run: .venv/bin/python -m uvicorn bench.bare_app:app --port 8100
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import strawberry
from fastapi import FastAPI
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self) -> AsyncGenerator[int, None]:
        yield 0
        await asyncio.Event().wait()  # an idle subscription, like a video's status feed


schema = strawberry.Schema(query=Query, subscription=Subscription)
app = FastAPI()
app.include_router(
    GraphQLRouter(
        schema, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL)
    ),
    prefix="/graphql",
)
