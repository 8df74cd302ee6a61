"""A read model of one video's whole tree, indexed for the API's nested fields.

Loaded in a fixed number of statements per batch of videos, so a query's SQL count does
not grow with the checkpoints, branches or artifacts it returns. The read-side rules
(rule 4 `edited`, rule 11, `currentCheckpoint`, `finalVideo`) live here; rule 8 `canContinue`
asks `continuation_rules`, the planner continueCheckpoint follows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from aivideo.domain import continuation_rules
from aivideo.domain.tree import latest_by_key
from aivideo.models import (
    FINAL_PHASE,
    Artifact,
    ArtifactType,
    Branch,
    BranchStatus,
    Checkpoint,
    CheckpointStatus,
    Run,
    RunStatus,
)

_ACTIVE_RUNS = frozenset({RunStatus.QUEUED.value, RunStatus.RUNNING.value})


@dataclass
class VideoGraph:
    checkpoints: list[Checkpoint]  # creation order
    artifacts: list[Artifact]
    branches: list[Branch]  # creation order
    runs: list[Run]  # creation order
    checkpoint_by_id: dict[str, Checkpoint] = field(init=False)
    artifact_by_id: dict[str, Artifact] = field(init=False)
    branch_by_id: dict[str, Branch] = field(init=False)
    _children: dict[str | None, list[Checkpoint]] = field(init=False)
    _artifacts_of: dict[str, list[Artifact]] = field(init=False)
    # Indexes, so that a field asked of every branch costs what that branch holds, not
    # what the whole video holds: the status query grows linearly with the tree.
    _checkpoints_on: dict[str, list[Checkpoint]] = field(init=False)
    _runs_on: dict[str, list[Run]] = field(init=False)
    _runs_from: dict[str | None, list[Run]] = field(init=False)
    _child_branches: dict[str | None, list[Branch]] = field(init=False)
    _run_order: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.checkpoints.sort(key=lambda c: c.seq)
        self.checkpoint_by_id = {c.id: c for c in self.checkpoints}
        self.artifact_by_id = {a.id: a for a in self.artifacts}
        self.branch_by_id = {b.id: b for b in self.branches}
        self._children = defaultdict(list)
        self._checkpoints_on = defaultdict(list)
        for checkpoint in self.checkpoints:
            self._children[checkpoint.parent_id].append(checkpoint)
            self._checkpoints_on[checkpoint.branch_id].append(checkpoint)
        self._artifacts_of = defaultdict(list)
        for artifact in self.artifacts:
            self._artifacts_of[artifact.checkpoint_id].append(artifact)
        self._runs_on, self._runs_from = defaultdict(list), defaultdict(list)
        for run in self.runs:
            self._runs_on[run.branch_id].append(run)
            self._runs_from[run.parent_checkpoint_id].append(run)
        self._run_order = {run.id: index for index, run in enumerate(self.runs)}
        self._child_branches = defaultdict(list)
        for branch in self.branches:
            self._child_branches[branch.parent_branch_id].append(branch)

    # Checkpoints
    def roots(self) -> list[Checkpoint]:
        return list(self._children[None])

    def children(self, checkpoint_id: str) -> list[Checkpoint]:
        return list(self._children[checkpoint_id])

    def latest(self, checkpoint_id: str) -> list[Artifact]:
        return latest_by_key(self._artifacts_of[checkpoint_id])

    def versions(self, artifact: Artifact) -> list[Artifact]:
        same = [a for a in self._artifacts_of[artifact.checkpoint_id] if a.key == artifact.key]
        return sorted(same, key=lambda a: a.version, reverse=True)

    def edited(self, checkpoint_id: str) -> bool:
        return any(a.version > 1 for a in self._artifacts_of[checkpoint_id])

    def cost(self, checkpoint_id: str) -> float:
        return round(sum(a.cost_usd for a in self._artifacts_of[checkpoint_id]), 6)

    def current_checkpoint(self) -> Checkpoint | None:
        pending = [c for c in self.checkpoints if c.status == CheckpointStatus.PENDING.value]
        return pending[-1] if pending else None

    # Branches
    def branch_checkpoints(self, branch_id: str) -> list[Checkpoint]:
        return list(self._checkpoints_on[branch_id])

    def head(self, branch_id: str) -> Checkpoint | None:
        on_branch = self.branch_checkpoints(branch_id)
        return on_branch[-1] if on_branch else None

    def child_branches(self, branch_id: str) -> list[Branch]:
        return list(self._child_branches[branch_id])

    def final_of_branch(self, branch_id: str) -> Artifact | None:
        finals = [
            a
            for c in self.branch_checkpoints(branch_id)
            if c.phase == FINAL_PHASE
            for a in self.latest(c.id)
            if a.type == ArtifactType.FINAL_VIDEO.value
        ]
        return finals[-1] if finals else None

    def final_video(self) -> Artifact | None:
        """FINAL_VIDEO of the most recently completed branch."""
        done = [b for b in self.branches if b.status == BranchStatus.COMPLETE.value]
        for branch in sorted(done, key=lambda b: b.updated_at, reverse=True):
            final = self.final_of_branch(branch.id)
            if final is not None:
                return final
        return None

    def active_branches(self) -> list[Branch]:
        live = {BranchStatus.QUEUED, BranchStatus.RUNNING, BranchStatus.PAUSED, BranchStatus.FAILED}
        return [b for b in self.branches if b.status in live]

    def running_run(self, branch_id: str) -> Run | None:
        active = [r for r in self._runs_on[branch_id] if r.status in _ACTIVE_RUNS]
        return active[-1] if active else None

    def can_continue(self, branch: Branch) -> bool:
        """Rule 8, decided by the planner that continueCheckpoint itself follows."""
        head = self.head(branch.id)
        return continuation_rules.can_continue(
            head=head,
            branch_checkpoints=self.branch_checkpoints(branch.id),
            runs=self._runs_near(head, branch.id),
            current_inputs=self.consumable(head) if head is not None else [],
        )

    def _runs_near(self, head: Checkpoint | None, branch_id: str) -> list[Run]:
        """The runs the planner reads for a branch's head, in creation order: those on the
        branch, those from the head, and those on the branches the latter went to."""
        from_head = self._runs_from[head.id] if head is not None else []
        near = {r.id: r for r in self._runs_on[branch_id]}
        for run in from_head:
            near.update((r.id, r) for r in self._runs_on[run.branch_id])
        return sorted(near.values(), key=lambda r: self._run_order[r.id])

    def consumable(self, checkpoint: Checkpoint) -> list[str]:
        """Ids of the checkpoint's latest versions that the next phase would consume."""
        latest = self.latest(checkpoint.id)
        return continuation_rules.consumable_ids(phase=checkpoint.phase, latest=latest)

    def can_retry(self, branch: Branch) -> bool:
        """Whether retryBranch would queue the branch's last run again."""
        return continuation_rules.can_retry(branch=branch, runs=self._runs_on[branch.id])

    def seconds_remaining(self, branch_id: str | None, now: datetime) -> int | None:
        """Of the running phase, extrapolated from its progress so far; None when unknown."""
        run = self.running_run(branch_id) if branch_id else None
        if run is None or run.started_at is None or run.progress <= 0:
            return None
        elapsed = (now - run.started_at).total_seconds()
        return max(0, round(elapsed * (1 - run.progress) / run.progress))
