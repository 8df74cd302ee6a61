"""Subscription events executed once per event for the subscribers that asked the same.

Every local subscriber of a channel receives the same event; the subscription resolver
turns it into one root value for all of them (`one_per_event`). graphql-core then runs
each subscriber's selection on that root value. `SharedEventExecutor` (the schema's
executor class) remembers, per root value, each execution by what decides its result:
the operation (one parsed document per query text, `CheckedDocuments`), the variables,
and the caller's owner and base URL. A subscriber whose operation, variables, owner and
base URL equal an earlier one's gets that result instead of running the selection
again; anyone else's runs their own. The memory goes with the root value.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar
from weakref import finalize

from graphql import ExecutionResult
from graphql.pyutils import AwaitableOrValue
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

Root = TypeVar("Root")

# Events in flight at once, per subscription field; an older one is only not shared any more.
RECENT_EVENTS = 64


class one_per_event(Generic[Root]):
    """`build(event)`, made once for every subscriber that received the same event object."""

    def __init__(self, build: Callable[[dict[str, Any]], Root], size: int = RECENT_EVENTS) -> None:
        self.build, self.size = build, size
        # id() of the event, with the event itself kept so that its id cannot be reused.
        self._recent: OrderedDict[int, tuple[dict[str, Any], Root]] = OrderedDict()

    def __call__(self, event: dict[str, Any]) -> Root:
        known = self._recent.get(id(event))
        if known is not None and known[0] is event:
            return known[1]
        root = self.build(event)
        self._recent[id(event)] = (event, root)
        if len(self._recent) > self.size:
            self._recent.popitem(last=False)
        return root


# By id() of a live root value: each distinct execution's result (or, while it runs, its
# task). By id, not a WeakKeyDictionary: Strawberry types are unhashable dataclasses.
_executions: dict[int, dict[Hashable, Any]] = {}


def _executions_of(root: object) -> dict[Hashable, Any] | None:
    """The executions remembered for `root`, forgotten when it is; None: cannot share."""
    executions = _executions.get(id(root))
    if executions is None:
        try:
            finalize(root, _executions.pop, id(root), None)
        except TypeError:  # no weak references to it: nothing tells when its id is free
            return None
        executions = _executions[id(root)] = {}
    return executions


class SharedEventExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's default executor, sharing identical executions of one subscription event."""

    per_event = False

    def __copy__(self) -> SharedEventExecutor:
        # graphql-core copies the executor for every event of every subscriber; the generic
        # copy.copy (reduce, reconstruct) was a tenth of a delivery. No class of this one's
        # defines __slots__, so its __dict__ is the whole state.
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def build_per_event_executor(self, payload: Any) -> SharedEventExecutor:
        executor = super().build_per_event_executor(payload)
        assert isinstance(executor, SharedEventExecutor)
        executor.per_event = True
        # The copy would share graphql-core's subfield memo, keyed by lists made anew for
        # each event: it would keep every event's entries for the subscription's lifetime.
        executor._relevant_sub_fields = {}
        return executor

    def execute_operation(self, serially: bool | None = None) -> AwaitableOrValue[Any]:
        key = self._sharing_key() if self.per_event else None
        if key is None:
            return super().execute_operation(serially)
        results = _executions_of(self.root_value)
        if results is None:
            return super().execute_operation(serially)
        if key in results:
            return _shared(results[key])
        result = super().execute_operation(serially)
        if self.is_awaitable(result):
            # Later subscribers wait for this one run; cancelling one of them cancels only it.
            results[key] = asyncio.ensure_future(result)
            return _shared(results[key])
        results[key] = result
        return result

    def _sharing_key(self) -> Hashable | None:
        """What decides this execution's result besides the root value; None: do not share."""
        caller = getattr(self.context_value, "caller", None)
        owner = getattr(caller, "owner", None)
        if owner is None:
            return None
        variables = repr(sorted(self.variable_values.coerced.items()))
        # The operation node itself is kept in the key: its id cannot be reused meanwhile.
        return (_Identity(self.operation), variables, owner, self.context_value.base_url)


class _Identity:
    """Hashes and compares an object by identity (graphql-core nodes compare deeply)."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.value is self.value


def _shared(result: ExecutionResult | asyncio.Future[ExecutionResult]) -> Any:
    if isinstance(result, asyncio.Future):
        return _await_shielded(result)
    return result


async def _await_shielded(run: Awaitable[ExecutionResult]) -> ExecutionResult:
    return await asyncio.shield(run)
