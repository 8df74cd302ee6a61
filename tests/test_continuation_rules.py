"""Rules 5 and 8 and retries, as tables: a situation of the video graph → the planner's decision.

The graphs are plain rows. `cp1` is main's phase-1 checkpoint; its spec has versions
`spec1`, `spec2`, `spec3` (each edit a new one); `r1` is main's phase-1 run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from aivideo.domain.continuation_rules import (
    AlreadyServed,
    Decision,
    NewBranch,
    QueueOnBranch,
    Refuse,
    RetryOnBranch,
    can_continue,
    can_retry,
    plan_continue,
    plan_retry,
)
from aivideo.errors import BadUserInput, Conflict
from aivideo.models import Branch, Checkpoint, Run

BRANCH_NAMES = {"main": "main", "alt": "alt", "main-1": "main-1", "copy": "main-2"}


def checkpoint(id: str, phase: int, branch: str = "main", status: str = "APPROVED") -> Checkpoint:
    return Checkpoint(id=id, branch_id=branch, phase=phase, status=status, version=1, seq=0)


def run(
    id: str, phase: int, status: str, *, branch: str = "main", parent: str | None, inputs: list[str]
) -> Run:
    return Run(
        id=id,
        branch_id=branch,
        phase=phase,
        status=status,
        parent_checkpoint_id=parent,
        input_ids=inputs,
    )


CP1 = checkpoint("cp1", 1)
CP1_PENDING = checkpoint("cp1", 1, status="PENDING")
CP2 = checkpoint("cp2", 2)
R1 = run("r1", 1, "SUCCEEDED", parent=None, inputs=[])


@dataclass
class Graph:
    """What the planner sees: the checkpoints of the branch, every run, the current versions."""

    checkpoints: list[Checkpoint]
    runs: list[Run]
    current: list[str] = field(default_factory=lambda: ["spec1"])


def p1(status: str) -> Run:
    """Main's phase-1 run."""
    return run("r1", 1, status, parent=None, inputs=[])


def p2(id: str, status: str, *, branch: str = "main", inputs: str = "spec1") -> Run:
    """A phase-2 run from cp1."""
    return run(id, 2, status, branch=branch, parent="cp1", inputs=[inputs])


CONTINUE_CP1 = [
    # situation, graph, decision of continueCheckpoint(cp1)
    (
        "pending head: the next phase runs on its own branch",
        Graph([CP1_PENDING], [R1]),
        QueueOnBranch("main"),
    ),
    (
        "continued once, its run queued: answered again, nothing new",
        Graph([CP1], [R1, p2("r2", "QUEUED")]),
        AlreadyServed("main", "r2"),
    ),
    (
        "continued once, its run finished: answered again, nothing new",
        Graph([CP1, CP2], [R1, p2("r2", "SUCCEEDED")]),
        AlreadyServed("main", "r2"),
    ),
    (
        "edited after its run finished: the branch moved on, so a new branch",
        Graph([CP1, CP2], [R1, p2("r2", "SUCCEEDED")], ["spec2"]),
        NewBranch("main"),
    ),
    (
        "edited while its run is running: a new branch",
        Graph([CP1], [R1, p2("r2", "RUNNING")], ["spec2"]),
        NewBranch("main"),
    ),
    (
        "its run failed: retried on the same branch",
        Graph([CP1], [R1, p2("r2", "FAILED")]),
        RetryOnBranch("main", "r2"),
    ),
    (
        "its run failed, then it was edited: retried on the same branch, with the edit",
        Graph([CP1], [R1, p2("r2", "FAILED")], ["spec2"]),
        RetryOnBranch("main", "r2"),
    ),
    (
        "its run was cancelled: retried on the same branch",
        Graph([CP1], [R1, p2("r2", "CANCELLED")]),
        RetryOnBranch("main", "r2"),
    ),
    (
        "its run failed twice: the newest attempt is retried",
        Graph([CP1], [R1, p2("r2", "FAILED"), p2("r3", "FAILED")]),
        RetryOnBranch("main", "r3"),
    ),
    (
        "continued onto a named branch whose run finished: served there, main stays put",
        Graph([CP1], [R1, p2("r2", "SUCCEEDED", branch="alt")]),
        AlreadyServed("alt", "r2"),
    ),
    (
        "continued onto a named branch whose run failed: that branch is retried",
        Graph([CP1], [R1, p2("r2", "FAILED", branch="alt")]),
        RetryOnBranch("alt", "r2"),
    ),
    (
        "edited since the named branch failed: main itself has not moved on",
        Graph([CP1], [R1, p2("r2", "FAILED", branch="alt")], ["spec2"]),
        QueueOnBranch("main"),
    ),
    (
        "forked by an edit, the fork's first run failed: the fork is retried, no new branch",
        Graph(
            [CP1, CP2],
            [R1, p2("r2", "SUCCEEDED"), p2("r3", "FAILED", branch="main-1", inputs="spec2")],
            ["spec2"],
        ),
        RetryOnBranch("main-1", "r3"),
    ),
    (
        "the fork's retry failed again: the fork is retried again",
        Graph(
            [CP1, CP2],
            [
                R1,
                p2("r2", "SUCCEEDED"),
                p2("r3", "FAILED", branch="main-1", inputs="spec2"),
                p2("r4", "FAILED", branch="main-1", inputs="spec2"),
            ],
            ["spec2"],
        ),
        RetryOnBranch("main-1", "r4"),
    ),
    (
        "the fork's retry succeeded: served by the fork",
        Graph(
            [CP1, CP2],
            [
                R1,
                p2("r2", "SUCCEEDED"),
                p2("r3", "FAILED", branch="main-1", inputs="spec2"),
                p2("r4", "SUCCEEDED", branch="main-1", inputs="spec2"),
            ],
            ["spec2"],
        ),
        AlreadyServed("main-1", "r4"),
    ),
    (
        "edited again after the fork failed: new versions make a new branch",
        Graph(
            [CP1, CP2],
            [R1, p2("r2", "SUCCEEDED"), p2("r3", "FAILED", branch="main-1", inputs="spec2")],
            ["spec3"],
        ),
        NewBranch("main"),
    ),
    (
        "a later phase failed on the branch: continuing this checkpoint answers its served run",
        Graph(
            [CP1, CP2],
            [R1, p2("r2", "SUCCEEDED"), run("r3", 3, "FAILED", parent="cp2", inputs=["b0"])],
        ),
        AlreadyServed("main", "r2"),
    ),
    (
        "a phase 4 checkpoint: refused, there is no next phase",
        Graph([checkpoint("cp1", 4)], [R1]),
        Refuse(
            BadUserInput,
            "checkpoint cp1 is at phase 4 (REFINEMENT), the final phase: "
            "there is no next phase to continue to",
        ),
    ),
    (
        "an abandoned checkpoint: refused",
        Graph([checkpoint("cp1", 1, status="ABANDONED")], [R1]),
        Refuse(Conflict, "checkpoint cp1 was abandoned; fork it with createBranch first"),
    ),
]


@pytest.mark.parametrize(
    ("graph", "decision"),
    [pytest.param(graph, decision, id=situation) for situation, graph, decision in CONTINUE_CP1],
)
def test_rule_5_continue_decides(graph: Graph, decision: Decision) -> None:
    [cp1] = [c for c in graph.checkpoints if c.id == "cp1"]
    assert (
        plan_continue(
            checkpoint=cp1,
            branch_checkpoints=graph.checkpoints,
            runs=graph.runs,
            current_inputs=graph.current,
        )
        == decision
    )


def test_rule_5_copies_continue_on_their_own_branch() -> None:
    # given a createBranch copy of cp1 on branch `copy`, while main moved on
    copy = checkpoint("cp9", 1, branch="copy", status="PENDING")
    runs = [R1, p2("r2", "SUCCEEDED")]

    # then its next phase runs on `copy`
    decision = plan_continue(
        checkpoint=copy, branch_checkpoints=[copy], runs=runs, current_inputs=["spec9"]
    )
    assert decision == QueueOnBranch("copy")


NO_HEAD: list[Checkpoint] = []
ON_ALT = p2("r2", "SUCCEEDED", branch="alt")
FAILED_ON_ALT = p2("r2", "FAILED", branch="alt")
CP4 = checkpoint("cp4", 4)
CAN_CONTINUE_MAIN = [
    # situation, Graph of main (its head is the last checkpoint), canContinue
    ("phase 1 not finished: no head", Graph(NO_HEAD, [p1("QUEUED")], []), False),
    ("phase 1 failed: no head (retryBranch it)", Graph(NO_HEAD, [p1("FAILED")], []), False),
    ("pending head", Graph([CP1_PENDING], [R1]), True),
    ("its run is queued", Graph([CP1], [R1, p2("r2", "QUEUED")]), False),
    ("a new phase-2 head", Graph([CP1, CP2], [R1, p2("r2", "SUCCEEDED")], ["b0"]), True),
    ("served elsewhere, not edited", Graph([CP1], [R1, ON_ALT]), False),
    ("served elsewhere, then edited", Graph([CP1], [R1, ON_ALT], ["spec2"]), True),
    ("edited while its run runs", Graph([CP1], [R1, p2("r2", "RUNNING")], ["spec2"]), False),
    ("its run failed: not consumed", Graph([CP1], [R1, p2("r2", "FAILED")]), True),
    ("its run was cancelled", Graph([CP1], [R1, p2("r2", "CANCELLED")]), True),
    ("continued onto a branch that failed", Graph([CP1], [R1, FAILED_ON_ALT]), True),
    ("phase 4 head", Graph([CP4], [R1], []), False),
    ("abandoned head", Graph([checkpoint("cp1", 1, status="ABANDONED")], [R1]), False),
]


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        pytest.param(graph, expected, id=situation)
        for situation, graph, expected in CAN_CONTINUE_MAIN
    ],
)
def test_rule_8_can_continue(graph: Graph, expected: bool) -> None:
    head = graph.checkpoints[-1] if graph.checkpoints else None
    offered = can_continue(
        head=head,
        branch_checkpoints=graph.checkpoints,
        runs=graph.runs,
        current_inputs=graph.current,
    )
    assert offered is expected


def test_rule_8_agrees_with_rule_5_on_every_continuable_row() -> None:
    # canContinue is true exactly when continue would queue work (and nothing runs)
    for situation, graph, decision in CONTINUE_CP1:
        [cp1] = [c for c in graph.checkpoints if c.id == "cp1"]
        running = any(
            r.branch_id == "main" and r.status in ("QUEUED", "RUNNING") for r in graph.runs
        )
        offered = can_continue(
            head=cp1,
            branch_checkpoints=graph.checkpoints,
            runs=graph.runs,
            current_inputs=graph.current,
        )
        starts_work = isinstance(decision, QueueOnBranch | RetryOnBranch | NewBranch)
        assert offered is (starts_work and not running), situation


def branch(name: str) -> Branch:
    return Branch(id=name, name=BRANCH_NAMES[name], status="PAUSED")


RETRY = [
    # situation, branch, runs, decision of retryBranch
    (
        "phase 1 failed: retried, no checkpoint needed",
        "main",
        [p1("FAILED")],
        RetryOnBranch("main", "r1"),
    ),
    (
        "phase 1 cancelled: retried",
        "main",
        [p1("CANCELLED")],
        RetryOnBranch("main", "r1"),
    ),
    (
        "a fork's first run failed: retried on the fork",
        "main-1",
        [R1, p2("r2", "SUCCEEDED"), p2("r3", "FAILED", branch="main-1", inputs="spec2")],
        RetryOnBranch("main-1", "r3"),
    ),
    (
        "only the branch's own runs count",
        "main",
        [R1, p2("r2", "SUCCEEDED"), p2("r3", "FAILED", branch="main-1", inputs="spec2")],
        Refuse(
            BadUserInput,
            "branch main has nothing to retry: its last run, phase 2 (STORYBOARD), SUCCEEDED; "
            "continue its head checkpoint to go on",
        ),
    ),
    (
        "the retry is queued: refused while it runs",
        "main",
        [p1("FAILED"), run("r2", 1, "QUEUED", parent=None, inputs=[])],
        Refuse(
            Conflict,
            "branch main has nothing to retry: phase 1 (PLANNING) is queued on it; "
            "wait for it to finish or fail",
        ),
    ),
    (
        "running: refused",
        "main",
        [R1, p2("r2", "RUNNING")],
        Refuse(
            Conflict,
            "branch main has nothing to retry: phase 2 (STORYBOARD) is running on it; "
            "wait for it to finish or fail",
        ),
    ),
    (
        "a createBranch copy that never ran: refused",
        "copy",
        [R1],
        Refuse(
            BadUserInput,
            "branch main-2 has nothing to retry: no phase has run on it; "
            "continue its head checkpoint instead",
        ),
    ),
]


@pytest.mark.parametrize(
    ("name", "runs", "decision"),
    [pytest.param(*row[1:], id=row[0]) for row in RETRY],
)
def test_retry_branch_decides(name: str, runs: list[Run], decision: Decision) -> None:
    assert plan_retry(branch=branch(name), runs=runs) == decision
    assert can_retry(branch=branch(name), runs=runs) is isinstance(decision, RetryOnBranch)
