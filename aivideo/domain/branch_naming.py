"""Branch names: `B-N` children, and the rules for names people choose."""

from __future__ import annotations

import re
from collections.abc import Iterable

from aivideo.errors import BadUserInput

NAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAIN = "main"


def next_child_name(parent: str, sibling_names: Iterable[str]) -> str:
    """`parent-N`, N one more than the largest N among the parent's direct children."""
    child = re.compile(rf"^{re.escape(parent)}-(\d+)$")
    numbers = [int(m.group(1)) for name in sibling_names if (m := child.match(name))]
    return f"{parent}-{max(numbers, default=0) + 1}"


def check_chosen_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise BadUserInput(
            f"branch name {name!r} is not allowed: use 1 to 64 letters, digits, '.', '_' or '-'"
        )
    return name
