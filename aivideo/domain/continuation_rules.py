"""Where a continue or a retry goes (SPEC rules 5 and 8), as pure decisions over the graph.

The write side (`continuation`, under the video lock) and the read side (`VideoGraph`,
for `Branch.canContinue` and `Branch.canRetry`) ask the same functions here, so what a
branch offers is exactly what the mutation then does. Inputs are plain rows; nothing
here touches the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aivideo.domain.tree import CONSUMED_BY_NEXT
from aivideo.errors import AivideoError, BadUserInput, Conflict
from aivideo.models import (
    FINAL_PHASE,
    Artifact,
    Branch,
    Checkpoint,
    CheckpointStatus,
    Phase,
    Run,
    RunStatus,
)

# Runs that ended without a checkpoint: their work may be queued again.
UNFINISHED = frozenset({RunStatus.FAILED.value, RunStatus.CANCELLED.value})


@dataclass(frozen=True)
class QueueOnBranch:
    """Run the next phase on the checkpoint's own branch, which has not moved on."""

    branch_id: str


@dataclass(frozen=True)
class RetryOnBranch:
    """Queue again, on its own branch, the phase that `run_id` left failed or cancelled."""

    branch_id: str
    run_id: str


@dataclass(frozen=True)
class NewBranch:
    """The branch moved on and the checkpoint has unconsumed versions: fork a child branch."""

    parent_branch_id: str


@dataclass(frozen=True)
class AlreadyServed:
    """A live or finished run already consumes the current versions: queue nothing."""

    branch_id: str
    run_id: str


@dataclass(frozen=True)
class Refuse:
    """The request cannot be served; `error(message)` is what the caller is told."""

    error: type[AivideoError]
    message: str

    def exception(self) -> AivideoError:
        return self.error(self.message)


Decision = QueueOnBranch | RetryOnBranch | NewBranch | AlreadyServed | Refuse


def consumable_ids(*, phase: int, latest: Iterable[Artifact]) -> list[str]:
    """Ids of the latest artifacts that the phase after `phase` would consume."""
    wanted = CONSUMED_BY_NEXT.get(phase)
    return [a.id for a in latest if wanted is not None and a.type == wanted.value]


def plan_continue(
    *,
    checkpoint: Checkpoint,
    branch_checkpoints: Sequence[Checkpoint],
    runs: Sequence[Run],
    current_inputs: Sequence[str],
) -> Decision:
    """Rule 5: what `continueCheckpoint(checkpoint)` without a branch name does.

    `branch_checkpoints` are those of the checkpoint's branch; `runs` every run of the
    video in creation order; `current_inputs` the ids the next phase would consume now.
    """
    if checkpoint.phase == FINAL_PHASE:
        return Refuse(
            BadUserInput,
            f"checkpoint {checkpoint.id} is at phase 4 (REFINEMENT), the final phase: "
            "there is no next phase to continue to",
        )
    if checkpoint.status == CheckpointStatus.ABANDONED.value:
        return Refuse(
            Conflict, f"checkpoint {checkpoint.id} was abandoned; fork it with createBranch first"
        )
    current = sorted(current_inputs)
    same_inputs = [
        r
        for r in runs
        if r.parent_checkpoint_id == checkpoint.id and sorted(r.input_ids) == current
    ]
    served = [r for r in same_inputs if r.status not in UNFINISHED]
    if served:
        return AlreadyServed(served[-1].branch_id, served[-1].id)
    own_last = last_run_on(runs, checkpoint.branch_id)
    if (
        own_last is not None
        and own_last.parent_checkpoint_id == checkpoint.id
        and own_last.status in UNFINISHED
    ):
        # The branch's own attempt at the next phase did not finish: retry it there.
        return RetryOnBranch(checkpoint.branch_id, own_last.id)
    if same_inputs and last_run_on(runs, same_inputs[-1].branch_id) is same_inputs[-1]:
        # A fork of this checkpoint whose run did not finish, with no new versions since:
        # retry that fork rather than fork yet another branch.
        return RetryOnBranch(same_inputs[-1].branch_id, same_inputs[-1].id)
    if not _moved_on(checkpoint, branch_checkpoints, runs):
        return QueueOnBranch(checkpoint.branch_id)
    return NewBranch(checkpoint.branch_id)


def can_continue(
    *,
    head: Checkpoint | None,
    branch_checkpoints: Sequence[Checkpoint],
    runs: Sequence[Run],
    current_inputs: Sequence[str],
) -> bool:
    """Rule 8: continuing the branch's head would start work, and nothing runs on it now."""
    if head is None or any(
        r.branch_id == head.branch_id and RunStatus(r.status).active for r in runs
    ):
        return False
    decision = plan_continue(
        checkpoint=head,
        branch_checkpoints=branch_checkpoints,
        runs=runs,
        current_inputs=current_inputs,
    )
    return isinstance(decision, QueueOnBranch | RetryOnBranch | NewBranch)


def plan_retry(*, branch: Branch, runs: Sequence[Run]) -> RetryOnBranch | Refuse:
    """What `retryBranch(branch)` does: queue its last run again if it failed or was cancelled."""
    last = last_run_on(runs, branch.id)
    if last is None:
        return Refuse(
            BadUserInput,
            f"branch {branch.name} has nothing to retry: no phase has run on it; "
            "continue its head checkpoint instead",
        )
    phase = f"phase {last.phase} ({Phase.of(last.phase).value})"
    if RunStatus(last.status).active:
        return Refuse(
            Conflict,
            f"branch {branch.name} has nothing to retry: {phase} is {last.status.lower()} "
            "on it; wait for it to finish or fail",
        )
    if last.status not in UNFINISHED:
        return Refuse(
            BadUserInput,
            f"branch {branch.name} has nothing to retry: its last run, {phase}, "
            f"{last.status}; continue its head checkpoint to go on",
        )
    return RetryOnBranch(branch.id, last.id)


def can_retry(*, branch: Branch, runs: Sequence[Run]) -> bool:
    """Whether `retryBranch(branch)` would queue work."""
    return isinstance(plan_retry(branch=branch, runs=runs), RetryOnBranch)


def last_run_on(runs: Sequence[Run], branch_id: str) -> Run | None:
    """The newest of `runs` (in creation order) on the branch."""
    return next((r for r in reversed(runs) if r.branch_id == branch_id), None)


def _moved_on(
    checkpoint: Checkpoint, branch_checkpoints: Sequence[Checkpoint], runs: Sequence[Run]
) -> bool:
    """Whether the checkpoint's branch has a later checkpoint or run than it."""
    return any(c.phase > checkpoint.phase for c in branch_checkpoints) or any(
        r.branch_id == checkpoint.branch_id and r.phase > checkpoint.phase for r in runs
    )
