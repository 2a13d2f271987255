"""Warm kernels for a class: one sandboxed Python that has imported ipykernel, numpy and torch once, from
which every submission's kernel is forked already warm, each in namespaces, a filesystem view and a uid
of its own (``zygote_source.py`` runs inside; see there for how a kernel walls itself off).

A fresh kernel costs about 0.7 s of CPU here before the student's first line runs, and a notebook that
imports torch another 1.2 s; a forked one costs a few milliseconds.  ``grade batch`` starts one zygote for
the run, and its workers share it through a socket.  It needs root (to give every kernel a uid of its own)
and a working bubblewrap; without them, or if the zygote dies, kernels start cold as they always did.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
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


class Spawner:
    """What a kernel's start needs of a zygote, however the grader reaches it."""

    stage: Path
    _next_id: int = 0

    @property
    def alive(self) -> bool:
        raise NotImplementedError

    def request(self, **fields) -> dict:
        raise NotImplementedError

    def spawn(self, *, workspace: Path, cwd: Path, runtime_dir: Path, uid: int,
              limits: Limits, env: dict[str, str], arguments: list[str]) -> "KernelProcess":
        self._next_id += 1
        identity = self._next_id
        self.request(op="spawn", id=identity, stage=str(self.stage.resolve()), workspace=str(workspace.resolve()),
                     cwd=str(cwd.resolve()), runtime_dir=str(runtime_dir.resolve()),
                     arguments=arguments, uid=uid, env=env,
                     rlimits=sandbox.rlimits(limits), disk_bytes=limits.disk_mb * 2**20,
                     holds=list(sandbox.ZYGOTE_HOLDS),
                     python_under_scratch=[root for root in sandbox.python_roots(_on_path(env))
                                           if sandbox.under_scratch(root)])
        return KernelProcess(self, identity)


def _on_path(env: dict[str, str]) -> tuple[str, ...]:
    """The folders the kernel's environment puts on its sys.path (a course environment's packages)."""
    return tuple(path for path in env.get("PYTHONPATH", "").split(os.pathsep) if path)


def _checked(answer: dict) -> dict:
    if not answer.get("ok"):
        raise ZygoteError(answer.get("error", "the warm zygote refused"))
    return answer


@dataclass
class Zygote(Spawner):
    """Use as a context manager, or call ``close()``; ``stage`` is where workspaces must be made.  The
    process that starts it owns it (its stdin); other processes reach it through ``link()``."""

    preload: tuple[str, ...] = PRELOAD
    extra_paths: tuple[str, ...] = ()  # a course environment's packages, visible read-only to every kernel
    stage: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="dlgrade-warm-")))
    _process: subprocess.Popen | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ready: bool = False

    def __enter__(self) -> "Zygote":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def address(self) -> Path:
        return self.stage / "zygote.sock"

    def start(self, wait: bool = True) -> None:
        """Starts it; with ``wait=False``, returns while it still imports (the first request waits)."""
        os.chmod(self.stage, 0o755)
        command = [sys.executable, "-c", ZYGOTE_SOURCE, json.dumps(list(self.preload)), str(self.address.resolve())]
        from .kernel import kernel_environment  # kernel imports this module

        wrapped = sandbox.wrap_zygote(command, stage=self.stage, extra_paths=self.extra_paths)
        self._process = subprocess.Popen(wrapped, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         env=kernel_environment(Path("/tmp")))
        self._expect("listening")
        if wait:
            with self._lock:
                self._await_ready()

    def _expect(self, state: str) -> None:
        answer = self._answer(START_TIMEOUT_S)
        if not answer.get(state):
            self.close()
            raise ZygoteError(f"the warm zygote did not start: {answer}")

    def _await_ready(self) -> None:
        if not self._ready:
            self._expect("ready")
            self._ready = True

    def link(self) -> "ZygoteLink":
        return ZygoteLink(str(self.address.resolve()), self.stage)

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
            self._await_ready()
            try:
                self._process.stdin.write(json.dumps(fields).encode() + b"\n")
                self._process.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                raise ZygoteError(f"the warm zygote is gone: {exc}") from None
            return _checked(self._answer(None))

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


@dataclass
class ZygoteLink(Spawner):
    """Another process's way to the same zygote (``grade batch``'s workers share one): a connection to its
    socket, made on first use in each process.  Pickles as the address alone."""

    address: str
    stage: Path
    _connection: socket.socket | None = None
    _reader: object = None
    _pid: int = 0
    _broken: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __getstate__(self) -> dict:
        return {"address": self.address, "stage": self.stage}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["address"], state["stage"])

    @property
    def alive(self) -> bool:
        return not self._broken and os.path.exists(self.address)

    def close(self) -> None:
        """Hangs up: the zygote kills every kernel this link spawned."""
        with self._lock:
            for stream in (self._reader, self._connection):
                if stream is not None:
                    stream.close()
            self._reader = self._connection = None

    def request(self, **fields) -> dict:
        with self._lock:
            if self._broken:
                raise ZygoteError(self._broken)
            try:
                if self._connection is None or self._pid != os.getpid():
                    self._connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    self._connection.connect(self.address)
                    self._reader, self._pid = self._connection.makefile("rb"), os.getpid()
                self._connection.sendall(json.dumps(fields).encode() + b"\n")
                line = self._reader.readline()
            except OSError as exc:
                line, self._broken = b"", f"the warm zygote is gone: {exc}"
            if not line:
                self._broken = self._broken or "the warm zygote ended"
                raise ZygoteError(self._broken)
            return _checked(json.loads(line))


@dataclass
class KernelProcess:
    """What jupyter_client's provisioner expects of a ``Popen``, for a kernel forked by the zygote.  It has
    no pid: the kernel's pid means nothing outside the sandbox, and only the zygote may signal it."""

    zygote: Spawner
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
