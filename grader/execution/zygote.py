"""Warm kernels for a class: one sandboxed Python that has imported ipykernel, numpy and torch once, from
which every submission's kernel is forked already warm, each in namespaces, a filesystem view and a uid
of its own (``zygote_source.py`` runs inside; see there for how a kernel walls itself off).

A fresh kernel costs about 0.7 s of CPU here before the student's first line runs, and a notebook that
imports torch another 1.2 s; a forked one costs a few milliseconds.  ``grade batch`` keeps one zygote per
worker.  It needs root (to give every kernel a uid of its own) and a working bubblewrap; without them,
or if the zygote dies, kernels start cold as they always did.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from . import sandbox
from .limits import Limits

ZYGOTE_SOURCE = resources.files(__package__).joinpath("zygote_source.py").read_text()
# Imported once by the zygote, so that no student's kernel pays for them; a missing one is skipped.
# After the libraries, what a kernel imports while it initializes (ipykernel's debugger brings debugpy:
# half of a kernel's start-up when it is not already there).
PRELOAD = ("numpy", "torch", "torch.nn", "torch.nn.functional", "IPython", "ipykernel.ipkernel",
           "ipykernel.debugger", "IPython.core.completerlib", "tornado.gen", "tornado.locks", "tornado.queues",
           "tornado.platform.asyncio", "faulthandler")
START_TIMEOUT_S = 120.0


class ZygoteError(RuntimeError):
    pass


def usable(protections: sandbox.Protections) -> bool:
    """Warm kernels keep every protection a cold one has, or are not used at all."""
    return protections.isolation == "bubblewrap" and protections.unprivileged_user and os.geteuid() == 0


@dataclass
class Zygote:
    """Use as a context manager, or call ``close()``; ``stage`` is where workspaces must be made."""

    preload: tuple[str, ...] = PRELOAD
    stage: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="dlgrade-warm-")))
    _process: subprocess.Popen | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_id: int = 0

    def __enter__(self) -> "Zygote":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        os.chmod(self.stage, 0o755)
        command = [sys.executable, "-c", ZYGOTE_SOURCE, json.dumps(list(self.preload))]
        from .kernel import kernel_environment  # kernel imports this module

        self._process = subprocess.Popen(sandbox.wrap_zygote(command, stage=self.stage), stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         env=kernel_environment(Path("/tmp")))
        ready = self._answer(START_TIMEOUT_S)
        if not ready.get("ready"):
            self.close()
            raise ZygoteError(f"the warm zygote did not start: {ready}")

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def close(self) -> None:
        """Ends the zygote and every kernel it forked, and removes the stage."""
        process, self._process = self._process, None
        if process is not None:
            process.stdin.close()  # the zygote ends at end of input; its kernels die with it
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()
        shutil.rmtree(self.stage, ignore_errors=True)

    def request(self, **fields) -> dict:
        with self._lock:
            if not self.alive:
                raise ZygoteError("the warm zygote is not running")
            try:
                self._process.stdin.write(json.dumps(fields).encode() + b"\n")
                self._process.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                raise ZygoteError(f"the warm zygote is gone: {exc}") from None
            answer = self._answer(None)
        if not answer.get("ok"):
            raise ZygoteError(answer.get("error", "the warm zygote refused"))
        return answer

    def _answer(self, timeout_s: float | None) -> dict:
        timer = threading.Timer(timeout_s, self._process.kill) if timeout_s else None
        if timer:
            timer.start()
        try:
            line = self._process.stdout.readline()
        finally:
            if timer:
                timer.cancel()
        if not line:
            raise ZygoteError("the warm zygote ended")
        return json.loads(line)

    def spawn(self, *, workspace: Path, cwd: Path, runtime_dir: Path, uid: int,
              limits: Limits, env: dict[str, str], arguments: list[str]) -> "KernelProcess":
        self._next_id += 1
        identity = self._next_id
        self.request(op="spawn", id=identity, stage=str(self.stage.resolve()), workspace=str(workspace.resolve()),
                     cwd=str(cwd.resolve()), runtime_dir=str(runtime_dir.resolve()),
                     arguments=arguments, uid=uid, env=env,
                     rlimits=sandbox.rlimits(limits), disk_bytes=limits.disk_mb * 2**20,
                     holds=list(sandbox.ZYGOTE_HOLDS))
        return KernelProcess(self, identity)


@dataclass
class KernelProcess:
    """What jupyter_client's provisioner expects of a ``Popen``, for a kernel forked by the zygote.  It has
    no pid: the kernel's pid means nothing outside the sandbox, and only the zygote may signal it."""

    zygote: Zygote
    identity: int
    returncode: int | None = None
    stdin = stdout = stderr = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._ask(op="poll")
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.poll() is None:
            self.kill()
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            self.returncode = self._ask(op="signal", signum=int(signum))

    def kill(self) -> None:
        self.send_signal(9)

    def terminate(self) -> None:
        self.kill()  # the kernel's state is thrown away: nothing to let it finish

    def _ask(self, **fields) -> int | None:
        try:
            return self.zygote.request(id=self.identity, **fields).get("code")
        except ZygoteError:
            return -9  # the zygote took every kernel with it
