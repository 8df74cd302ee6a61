"""The Strawberry schema with its limits and error mapping."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.types import ExecutionContext

from aivideo.schema.error_codes import ErrorCodes, log_unexpected
from aivideo.schema.mutation import Mutation
from aivideo.schema.query import Query
from aivideo.schema.query_cost import LIST_BOUNDS, QueryCostLimiter
from aivideo.schema.subscription import Subscription
from aivideo.settings import Settings, settings


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_unexpected(errors)


def build_schema(config: Settings = settings) -> strawberry.Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            # Bounded before execution: a recursive children/parent chain cannot run away.
            lambda: QueryDepthLimiter(max_depth=config.query_max_depth),
            lambda: MaxAliasesLimiter(max_alias_count=config.query_max_aliases),
            lambda: MaxTokensLimiter(max_token_count=config.query_max_tokens),
            # Breadth: nested lists multiply, so estimate the objects before any resolver runs.
            lambda: QueryCostLimiter(
                max_objects=config.query_max_objects,
                list_bounds={**LIST_BOUNDS, "VideoConnection.edges": config.videos_max_page},
            ),
            ErrorCodes,
        ],
    )


schema = build_schema()
