"""A deadline that measures the student's code, not the machine's load.

On a busy machine a correct call can take many times its quiet duration on the wall clock, while the
kernel waits for a CPU that other work holds.  ``KernelClock`` takes that wait away: the time the
kernel's own threads (ipykernel's: the main one, where the student's code runs, and the IO thread that
sends its answers) or the grader's thread that watches it (and reads its answers) were runnable but not
running, from ``/proc/PID/task/TID/schedstat``.  Running, sleeping
and blocking still count, so a ``sleep`` or an endless loop is stopped at its limit.

A wait the student causes is never taken away: code is also past its limit once the kernel's processes
(the main one, and every one started since the limit began: a fork bomb's) have used that much CPU
time.  However busy the machine, nothing runs past ``backstop_s`` on the wall clock.

Reading another process's schedstat costs microseconds; the kernel's processes are listed (a pass over
``/proc``) only once a limit has passed on the wall clock.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

# However loaded the machine, code is stopped after this many times its limit on the wall clock (and never
# sooner than a minute past its limit, so that a tight limit still survives a busy machine).
BACKSTOP, BACKSTOP_MIN_S = 5, 60.0
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def backstop_s(limit_s: float) -> float:
    return max(BACKSTOP * limit_s, limit_s + BACKSTOP_MIN_S)


def _run_queue_wait_s(path: str) -> float:
    try:
        with open(path, "rb") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):  # gone, or a kernel without schedstat
        return 0.0


def _stat_fields(pid: int | str) -> list[bytes] | None:
    """``/proc/PID/stat`` from field 3 on (the command name, which may hold anything, cut off)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
    except OSError:
        return None
    return text[text.rfind(b")") + 2:].split()


def _cpu_s(fields: list[bytes], children: bool = False) -> float:
    # fields[11:13] are utime and stime; [13:15] the CPU of children it has reaped
    ticks = sum(int(value) for value in fields[11:15 if children else 13])
    return ticks / TICKS_PER_S


@dataclass(frozen=True)
class Mark:
    """Where a limit began: the wall clock, the waits so far, the main process's CPU time."""

    wall: float
    waited_s: float
    main_cpu_s: float
    boot_ticks: float


@dataclass
class KernelClock:
    """The clock of one kernel: ``pid`` its main process on this host (None: only the grader's own wait is
    known), ``uid`` the kernel's own user when it has one (every process it starts keeps it), else its
    processes are those of its session.  The waits counted are those of the kernel's own threads, the ones
    it had when it started (ipykernel's: the main one, and the IO thread that sends every answer, so an
    answer the machine's load holds up is not charged to its call); a thread the student's code starts
    is not among them."""

    pid: int | None = None
    uid: int | None = None
    threads: tuple[int, ...] | None = None  # None: those it has now

    def __post_init__(self) -> None:
        if self.threads is None:
            self.threads = _threads(self.pid)

    def mark(self) -> Mark:
        fields = _stat_fields(self.pid) if self.pid is not None else None
        return Mark(time.monotonic(), self._waited_s(), _cpu_s(fields) if fields else 0.0,
                    time.clock_gettime(time.CLOCK_BOOTTIME) * TICKS_PER_S)

    def overran(self, since: Mark, limit_s: float) -> bool:
        """Past ``limit_s`` of the student's own time since ``since``, or past the wall-clock backstop."""
        elapsed = time.monotonic() - since.wall
        if elapsed <= limit_s:
            return False
        if elapsed > backstop_s(limit_s) or elapsed - (self._waited_s() - since.waited_s) > limit_s:
            return True
        return self._cpu_since_s(since) > limit_s

    def _waited_s(self) -> float:
        kernel = sum(_run_queue_wait_s(f"/proc/{self.pid}/task/{thread}/schedstat") for thread in self.threads)
        return kernel + _run_queue_wait_s("/proc/thread-self/schedstat")

    def _cpu_since_s(self, since: Mark) -> float:
        """The CPU the kernel used since ``since``: its main process's, and all of every process of its own
        started after it (a process that was there before and is not the main one is not counted)."""
        main = _stat_fields(self.pid) if self.pid is not None else None
        if main is None:
            return 0.0
        used = _cpu_s(main) - since.main_cpu_s
        session = main[3]
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == self.pid:
                continue
            try:
                if self.uid is not None and os.stat(f"/proc/{name}").st_uid != self.uid:
                    continue
            except OSError:
                continue
            fields = _stat_fields(name)
            if fields is None or (self.uid is None and fields[3] != session) or int(fields[19]) < since.boot_ticks:
                continue
            used += _cpu_s(fields, children=True)
        return used


def _threads(pid: int | None) -> tuple[int, ...]:
    """The threads of process ``pid`` now (its main thread alone when they cannot be listed)."""
    if pid is None:
        return ()
    try:
        return tuple(int(name) for name in os.listdir(f"/proc/{pid}/task"))
    except (OSError, ValueError):
        return (pid,)


def kernel_pid(uid: int | None, launcher_pid: int | None) -> int | None:
    """The kernel's host pid: the process of its own uid (a sandboxed kernel as root, cold or warm: the
    one process of that uid when it starts), else the first Python below the launcher (no sandbox, or
    bubblewrap as an ordinary user)."""
    if uid is not None:
        owned = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    if os.stat(f"/proc/{name}").st_uid == uid:
                        owned.append(int(name))
                except OSError:
                    pass
        return min(owned) if owned else None
    pid = launcher_pid
    for _ in range(8):  # bwrap, its init, setpriv, sh and prlimit exec into one another or fork once each
        if pid is None:
            return None
        try:
            with open(f"/proc/{pid}/comm") as comm:
                if comm.read().startswith("python"):
                    return pid
            with open(f"/proc/{pid}/task/{pid}/children") as children:
                pid = next((int(child) for child in children.read().split()), None)
        except OSError:
            return None
    return None
