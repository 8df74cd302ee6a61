"""The expected failures, one rooted hierarchy; the GraphQL layer maps `code` to extensions."""

from __future__ import annotations


class AivideoError(Exception):
    """An expected failure whose message is safe to show to the caller."""

    code = "INTERNAL"


class BadUserInput(AivideoError):
    code = "BAD_USER_INPUT"


class NotFound(AivideoError):
    code = "NOT_FOUND"

    @classmethod
    def of(cls, kind: str, id_: str) -> NotFound:
        return cls(f"{kind} {id_!r} does not exist")


class PhaseMismatch(AivideoError):
    code = "PHASE_MISMATCH"


class Conflict(AivideoError):
    code = "CONFLICT"


class Unauthenticated(AivideoError):
    code = "UNAUTHENTICATED"


class Forbidden(AivideoError):
    code = "FORBIDDEN"


class RateLimited(AivideoError):
    code = "RATE_LIMITED"


class BudgetExceeded(AivideoError):
    code = "BUDGET_EXCEEDED"


class GenerationFailed(AivideoError):
    """A model failed a regeneration; its (credential-free) message is shown as it is."""

    code = "INTERNAL"
