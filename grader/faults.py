"""Faults of the grading system, as opposed to faults of the student's code.

A kernel that cannot start, a broken sandbox or environment, a reference that raises, a grader out of
memory or disk, a bug in dlgrade: none of these is the student's doing, so none of them is ever a score.
An item they stop has the status ``grader_error``; the report carries the cause and what to do about
it (``Report.grader_error``); ``grade`` exits with ``EXIT_GRADER_FAULT`` and ``grade batch`` neither
records nor caches it.
"""
from __future__ import annotations

import errno
import traceback
from dataclasses import asdict, dataclass

STATUS = "grader_error"


@dataclass(eq=False)
class GraderFault(Exception):
    cause: str
    fix: str = "this is a fault of the grader, not of the submission: report it with the cause above"
    machine: bool = False  # the machine cannot grade anyone (the preflight failed), not only this submission

    def __str__(self) -> str:
        return self.cause

    def as_dict(self) -> dict:
        return asdict(self)


def fault_of(exc: BaseException, where: str) -> GraderFault:
    """What an unexpected exception in the grader's own code means, and what to do about it."""
    if isinstance(exc, GraderFault):
        return exc
    if isinstance(exc, MemoryError):
        return GraderFault(f"the grader ran out of memory {where}",
                           "free memory on this machine or grade with fewer jobs (-j), then grade again")
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return GraderFault(f"the disk is full {where} ({exc})",
                           "free disk space (the grader's temporary folder and the results folder), then grade again")
    if isinstance(exc, OSError) and exc.errno == errno.EMFILE:
        return GraderFault(f"the grader ran out of file descriptors {where}",
                           "raise the open-file limit (ulimit -n) or grade with fewer jobs, then grade again")
    origin = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    place = f" at {origin[0].filename.rsplit('/', 2)[-1]}:{origin[0].lineno}" if origin else ""
    return GraderFault(f"{type(exc).__name__} {where}{place}: {exc}"[:1000],
                       "a bug in dlgrade or in the course's reference code, not in the submission: "
                       "fix the reference (grade validate RUBRIC imports it) or report the bug with this message")
