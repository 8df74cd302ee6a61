"""The process runtime: its services, the after-commit effect runner and file cleanup."""

from aivideo.runtime.job_queue import JobQueue
from aivideo.runtime.services import Runtime

__all__ = ["JobQueue", "Runtime"]
