"""One embedded `aivideo serve` per data directory: an exclusive lock held for its lifetime.

A second process on the same directory would "resume" the live one's runs (SPEC Access);
the lock is taken before anything touches the database, and the kernel drops it when the
process ends, however it ends.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

LOCK_FILE = "serve.lock"


class DataDirInUse(Exception):
    """Another live process holds the data directory's lock."""


def lock_data_dir(data_dir: Path) -> IO[str]:
    """Lock `data_dir` (made owner-only if new); keep the returned file open while serving."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle = os.fdopen(os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600), "r+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DataDirInUse(
            f"another aivideo serve is using {data_dir}; stop it first, or give this one "
            "its own AIVIDEO_DATA_DIR"
        ) from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")  # for people wondering which process holds it
    handle.flush()
    return handle
