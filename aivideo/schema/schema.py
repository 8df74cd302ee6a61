"""The Strawberry schema with its limits and error mapping."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.types import ExecutionContext

from aivideo.schema.error_codes import ErrorCodes, log_unexpected
from aivideo.schema.mutation import Mutation
from aivideo.schema.query import Query
from aivideo.schema.subscription import Subscription
from aivideo.settings import Settings


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_unexpected(errors)


def build_schema(config: Settings) -> strawberry.Schema:
    """The schema with the query limits of `config`."""
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            # Bounded before execution: a recursive children/parent chain cannot run away.
            lambda: QueryDepthLimiter(max_depth=config.query_max_depth),
            lambda: MaxAliasesLimiter(max_alias_count=config.query_max_aliases),
            lambda: MaxTokensLimiter(max_token_count=config.query_max_tokens),
            ErrorCodes,
        ],
    )

