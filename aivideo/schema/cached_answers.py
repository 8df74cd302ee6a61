"""Answers of `video(id:)` queries, kept while the video's revision stays the same.

A client polling a video's status asks for about a thousand fields, and executing them
costs tens of milliseconds, while the answer only changes when the video does. Every
change of a video's tree takes its write lock first, which counts `Video.revision` up
(domain/locking.py), so an answer computed at revision r is still the answer while the row
says r. Checking costs one statement, the load of the video row that execution starts with
anyway (through the request's loader, so a miss costs nothing extra); on SQLite, a read
outside the engine (video_revisions.py).

Only these are kept: queries whose root fields are all `video(id:)` or `__typename`,
answers without errors, and answers that do not depend on the clock (a running phase's
`estimatedTimeRemaining` marks its request). The key holds the query text, operation,
variables, owner and the request's base URL, so an owner only ever sees answers computed
for that owner. Entries live at most `max_age` seconds, which keeps the signed media URLs
in them fresh (they are valid for a day).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    VariableNode,
)
from strawberry.extensions import SchemaExtension

from aivideo import metrics
from aivideo.schema.context import Context
from aivideo.schema.lru_map import LRUMap

# A bigger answer (a tree of thousands of checkpoints) is not kept: the cache's memory
# stays under its size times this (64 MB at the default 256 entries).
MAX_ANSWER_CHARS = 256 * 1024


@dataclass(frozen=True)
class _Answer:
    revisions: tuple[tuple[str, int], ...]
    data: dict[str, Any]
    stored_at: float


class AnswerCache:
    """The kept answers of one schema (one process)."""

    def __init__(self, *, size: int, max_age: float) -> None:
        self.answers: LRUMap[tuple[str, ...], _Answer] = LRUMap(size)
        self.max_age = max_age

    def too_old(self, answer: _Answer) -> bool:
        return time.monotonic() - answer.stored_at >= self.max_age


def _root_video_ids(
    operation: OperationDefinitionNode, variables: Mapping[str, Any]
) -> list[str] | None:
    """The ids of the operation's root `video(id:)` fields; None when it has other roots."""
    ids: list[str] = []
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives:
            return None  # fragments and @include/@skip at the root: not worth the rules
        if selection.name.value == "__typename":
            continue
        arguments = selection.arguments or ()
        if selection.name.value != "video" or len(arguments) != 1:
            return None
        value = arguments[0].value
        if isinstance(value, VariableNode):
            value_of = variables.get(value.name.value)
        elif isinstance(value, StringValueNode):
            value_of = value.value
        else:
            return None
        if not isinstance(value_of, str):
            return None  # execution will tell the client what is wrong
        ids.append(value_of)
    return ids or None


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


class CachedAnswers(SchemaExtension):
    """Answer a `video(id:)` query from the cache when none of its videos changed."""

    def __init__(self, cache: AnswerCache) -> None:
        self.cache = cache

    async def on_execute(self) -> AsyncIterator[None]:
        run = self.execution_context
        context = run.context
        operation = _operation(run.graphql_document, run.operation_name)
        ids = None
        if (
            self.cache.answers.size > 0
            and isinstance(context, Context)
            and context.caller.owner is not None
            and operation is not None
            and operation.operation is OperationType.QUERY
        ):
            ids = _root_video_ids(operation, run.variables or {})
        if ids is None:
            yield
            return
        revisions = await _revisions(context, ids)
        key = (
            run.query or "",
            run.operation_name or "",
            json.dumps(run.variables or {}, sort_keys=True, default=str),
            context.caller.owner or "",
            context.base_url,
        )
        kept = self.cache.answers.get(key) if revisions is not None else None
        if kept and kept.revisions == revisions and not self.cache.too_old(kept):
            metrics.answer_cache("hit")
            run.result = ExecutionResult(data=kept.data)  # Strawberry skips execution then
            yield
            return
        metrics.answer_cache("miss")
        yield
        result = run.result
        if (
            revisions is not None
            and isinstance(result, ExecutionResult)
            and not result.errors
            and result.data is not None
            and not context.depends_on_clock
            and len(json.dumps(result.data, default=str)) <= MAX_ANSWER_CHARS
        ):
            self.cache.answers.put(key, _Answer(revisions, result.data, time.monotonic()))


async def _revisions(context: Context, ids: list[str]) -> tuple[tuple[str, int], ...] | None:
    """Each video's revision; None when one is not the caller's (execution then answers
    NOT_FOUND as usual) or cannot be read."""
    reader = context.runtime.revisions
    if reader is not None:
        found = reader.read(ids)
    else:  # through the loader execution uses: a miss costs no extra statement
        rows = await context.loaders.video_by_id.load_many(ids)
        found = {row.id: (row.owner, row.revision) for row in rows if row is not None}
    owner = context.caller.owner
    if found is None or any(id_ not in found or found[id_][0] != owner for id_ in ids):
        return None
    return tuple((id_, found[id_][1]) for id_ in ids)
