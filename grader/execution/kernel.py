"""One Jupyter kernel for one student notebook: started under resource limits in the submission's
workspace, given code with a deadline, killed and restarted when it hangs or dies.

Execution goes through nbclient's ``NotebookClient`` so that outputs, errors and kernel death are
handled the way Jupyter does; on top of it this module adds hard deadlines (a kernel that ignores the
interrupt is killed, with its whole process group), an output cap, a scrubbed environment and
``prlimit`` limits.

A deadline measures the student's code, not the machine's load (``clock.KernelClock``).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import nbformat
import zmq
import zmq.asyncio
from queue import Empty
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from jupyter_core.utils import ensure_event_loop
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from traitlets import default

from . import sandbox
from .clock import KernelClock, backstop_s, kernel_pid
from .bridge import MIME
from .limits import Limits
from .zygote import Spawner

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]")
KILL_GRACE_S = 3.0
RECONNECT_MS = 5
WATCH_INTERVAL_S = 0.05  # how often a batch's step deadlines are looked at
# A larger message from the kernel (a 1 GB print, a forged response) makes zmq drop the connection
# instead of the grader allocating it.
MAX_MESSAGE_BYTES = 256 * 2**20
RECEIVE_QUEUE = 2  # messages
# nbclient logs every timeout and dead kernel as an error; the grader reports them itself.
QUIET_LOG = logging.getLogger("dlgrade.nbclient")
QUIET_LOG.setLevel(logging.CRITICAL)
# ipykernel's own compiler names each cell by a pure-Python hash of its text, for the debugger: 0.2 µs a
# byte, which made a call with large arrays cost tens of milliseconds.  Nothing here debugs a kernel, so
# IPython's own compiler (a C hash) replaces it before any cell runs.
KERNEL_OPTIONS = ["--IPKernelApp.exec_lines=get_ipython().compile = "
                  "__import__('IPython.core.compilerop').core.compilerop.CachingCompiler()"]


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


@dataclass
class Outcome:
    """What happened to one piece of code sent to the kernel."""

    status: str  # ok | error | timeout | dead
    duration_s: float
    ename: str = ""
    evalue: str = ""
    traceback: str = ""
    stdout: str = ""
    output_truncated: bool = False
    outputs: list = field(default_factory=list)  # raw Jupyter outputs
    # the bridge's responses as they arrived (a clear_output in student code cannot take them back),
    # and when, in seconds from the start
    responses: list = field(default_factory=list)
    response_times: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def describe(self) -> str:
        if self.status == "error":
            return f"{self.ename}: {self.evalue}".strip(": ")
        if self.status == "timeout":
            return f"did not finish within {self.duration_s:.0f} s"
        if self.status == "dead":
            return "the kernel died (the code crashed it or exited)"
        return "ok"


class _PythonKernel(AsyncKernelManager):
    """The kernel is ipykernel's own spec, named here: jupyter_client would search the kernel folders for
    it, which imports IPython into the grader (half a second of a single grade).  ``python`` is the first
    on the kernel's PATH, the grader's own (``kernel_environment``)."""

    @property
    def kernel_spec(self) -> KernelSpec:
        return KernelSpec(argv=["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                          display_name="Python 3", language="python", interrupt_mode="signal")


class _SandboxedKernelManager(_PythonKernel):
    """Starts the kernel inside the sandbox; ``grading_session`` says where and under which limits."""

    grading_session: "KernelSession | None" = None

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        session = self.grading_session
        sandbox.share_connection_file(Path(self.connection_file), session.protections, session.uid)
        return sandbox.wrap(command, workspace=session.workspace, cwd=session.cwd, runtime_dir=session._runtime_dir,
                            limits=session.limits, protections=session.protections, uid=session.uid,
                            extra_paths=session.extra_paths)


class _WarmProvisioner(LocalProvisioner):
    """Launches the kernel by asking the session's zygote to fork one; everything else (signals, polling,
    kill) goes through the ``KernelProcess`` handle it returns, as it would through a ``Popen``."""

    async def launch_kernel(self, cmd, **kwargs):
        session = self.parent.grading_session
        connection_file = Path(self.parent.connection_file)
        sandbox.share_connection_file(connection_file, session.protections, session.uid)
        self.process = session.zygote.spawn(workspace=session.workspace, cwd=session.cwd,
                                            runtime_dir=session._runtime_dir,
                                            uid=session.uid, limits=session.limits, env=kwargs.get("env", {}),
                                            arguments=cmd[cmd.index("-f"):])  # a cold kernel's own options
        self.pid, self.pgid, self.cwd = None, None, kwargs.get("cwd")
        return self.connection_info


class _WarmKernelManager(_PythonKernel):
    grading_session: "KernelSession | None" = None
    # jupyter_client wraps shutdown in a "pending state" that ends with a 10 ms sleep (for its own tests, it
    # says); nothing here awaits that state, and the kill itself takes 15 ms
    _async_shutdown_kernel = shutdown_kernel = getattr(AsyncKernelManager._async_shutdown_kernel, "__wrapped__",
                                                       AsyncKernelManager._async_shutdown_kernel)

    async def _async_pre_start_kernel(self, **kw):
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or os.urandom(8).hex()
            self.provisioner = _WarmProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)


class _ReadyClient(AsyncKernelClient):
    """Ready as soon as a kernel_info request's idle status arrives on IOPub: that proves both channels
    are connected.  jupyter_client's own check then waits for 0.2 s of IOPub silence, on every start."""

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
        while True:
            request = self.kernel_info()
            reply = await self._reply_to(request, 1.0)
            # IOPub may still be subscribing (zmq's slow joiner): then ask again soon
            if reply is not None and await self._idle_after(request, 0.05):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    wait_for_ready = _async_wait_for_ready  # AsyncKernelClient binds the name to its own method

    @default("context")
    def _session_context(self) -> zmq.asyncio.Context:
        # the manager's: the session's context and its socket options (message cap, reconnect interval);
        # jupyter_client would make the client a context of its own, with zmq's defaults
        return self.parent.context

    async def _reply_to(self, request: str, timeout_s: float) -> dict | None:
        return await self._first(self.shell_channel, timeout_s,
                                 lambda msg: msg["parent_header"].get("msg_id") == request)

    async def _idle_after(self, request: str, timeout_s: float) -> bool:
        return await self._first(self.iopub_channel, timeout_s, lambda msg: (
            msg["msg_type"] == "status" and msg["parent_header"].get("msg_id") == request
            and msg["content"].get("execution_state") == "idle")) is not None

    @staticmethod
    async def _first(channel, timeout_s: float, wanted) -> dict | None:
        end = time.monotonic() + timeout_s
        while (left := end - time.monotonic()) > 0:
            try:
                msg = await channel.get_msg(timeout=left)
            except Empty:
                return None
            if wanted(msg):
                return msg
        return None


class _CappedClient(NotebookClient):
    """A NotebookClient that keeps at most ``output_cap`` characters of output per cell; the bridge's
    responses are not counted (each message is bounded by the zmq context's MAXMSGSIZE instead)."""

    output_cap = 1 << 20

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.expect(())

    def expect(self, nonces: Sequence[str]) -> None:
        """The responses the next execution waits for, one per nonce, in order."""
        self.nonces = list(nonces)
        self.answers: dict[str, tuple[dict, float]] = {}

    def progress(self) -> int:
        """How many of the expected responses, from the first on, have arrived."""
        done = 0
        while done < len(self.nonces) and self.nonces[done] in self.answers:
            done += 1
        return done

    @property
    def responses(self) -> list[dict]:
        return [self.answers[nonce][0] for nonce in self.nonces if nonce in self.answers]

    @property
    def response_times(self) -> list[float]:
        return [self.answers[nonce][1] for nonce in self.nonces[:self.progress()]]

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content")
        data = content.get("data") if isinstance(content, dict) else None
        if isinstance(data, dict) and MIME in data:
            # a bridge response: set aside as it arrives, not kept among the cell's outputs (nor checked
            # against the notebook schema, which cost more than reading it).  Only one per expected nonce
            # is kept, the last (the agent's own comes after anything the call it answers published), so
            # messages that imitate responses take no memory and move no deadline of a call not yet made.
            payload = data[MIME]
            nonce = payload.get("nonce") if isinstance(payload, dict) else None
            if isinstance(nonce, str) and nonce in self.nonces:
                self.answers[nonce] = ({"output_type": msg.get("msg_type"), "data": data}, time.monotonic())
            return None
        used = sum(len(str(o.get("text", ""))) + len(str(o.get("data", ""))) for o in outs
                   if MIME not in o.get("data", {}))
        if used >= self.output_cap:
            _mark_truncated(outs)
            return None
        out = super().output(outs, msg, display_id, cell_index)
        if out is not None and len(str(out.get("text", ""))) > self.output_cap - used:
            out["text"] = str(out["text"])[: self.output_cap - used]
            _mark_truncated(outs)
        return out


def _mark_truncated(outs) -> None:
    if not any(o.get("name") == "dlgrade-truncated" for o in outs):
        outs.append(nbformat.v4.new_output("stream", name="dlgrade-truncated", text=""))


def kernel_environment(home: Path, extra_paths: tuple[str, ...] = ()) -> dict[str, str]:
    """The only environment the student's code sees: no tokens, proxies or grader settings;
    ``extra_paths`` (a course environment's packages) go on its ``sys.path``."""
    return {
        **({"PYTHONPATH": os.pathsep.join(extra_paths)} if extra_paths else {}),
        "PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "MPLBACKEND": "Agg",
        # one thread per kernel: parallel grading of a class is faster than threads fighting for cores
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }


@dataclass
class KernelSession:
    """A kernel whose working directory is ``cwd``, inside the submission's ``workspace`` (default:
    ``cwd`` itself), behind ``protections``.  Use as a context manager."""

    cwd: Path
    limits: Limits = field(default_factory=Limits)
    workspace: Path | None = None
    protections: sandbox.Protections | None = None
    restarts: int = 0
    uid: int = sandbox.NOBODY
    zygote: Spawner | None = None  # forks the kernel warm; None (or a dead one): a cold start
    warm: bool = False  # whether the running kernel was forked by the zygote
    stderr_path: Path | None = None  # a cold kernel's stderr goes there (the preflight's, to explain a failure)
    extra_paths: tuple[str, ...] = ()  # a course environment's packages, read-only on the kernel's sys.path
    clock: KernelClock = field(default_factory=KernelClock)
    _client: _CappedClient | None = None
    _runtime_dir: Path | None = None
    _context: zmq.asyncio.Context | None = None

    def __enter__(self) -> "KernelSession":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()

    def __post_init__(self) -> None:
        self.workspace = self.workspace or self.cwd
        if self.protections is None:
            self.protections = sandbox.protections_for("auto", self.limits)

    def start(self) -> None:
        if (self.zygote is not None and self.zygote.alive
                and self.workspace.resolve().is_relative_to(self.zygote.stage.resolve())):
            try:
                self._start(warm=True)
                return
            except Exception:  # the zygote died or failed this fork: a cold kernel does the same work
                self.shutdown()
        self._start(warm=False)

    def _start(self, warm: bool) -> None:
        self.warm = warm
        self._runtime_dir = Path(tempfile.mkdtemp(prefix="dlgrade-kernel-", dir=self.zygote.stage if warm else None))
        self.uid = sandbox.kernel_uid()
        sandbox.prepare_host_paths(self.workspace, self._runtime_dir, self.protections, self.uid)
        notebook = nbformat.v4.new_notebook()
        notebook.cells.append(nbformat.v4.new_code_cell(""))
        self._context = zmq.asyncio.Context()
        self._context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self._context.setsockopt(zmq.LINGER, 0)
        # messages the grader has not read yet wait in the kernel's queue (its memory, under its limits),
        # not in the grader's: a submission that publishes hundreds of big messages costs the grader two
        self._context.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)
        # the client connects before the kernel has bound its sockets; zmq's default 100 ms between
        # attempts was most of a warm kernel's start
        self._context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
        manager_class = _WarmKernelManager if warm else _SandboxedKernelManager
        manager = manager_class(kernel_name="python3", transport="ipc", context=self._context,
                                connection_file=str(self._runtime_dir / "kernel.json"))
        manager.grading_session = self
        manager.client_factory = _ReadyClient
        client = _CappedClient(notebook, km=manager, timeout=None, allow_errors=True,
                               record_timing=False, iopub_timeout=2, shell_timeout_interval=1, log=QUIET_LOG,
                               extra_arguments=KERNEL_OPTIONS)
        client.output_cap = self.limits.output_kb * 1024
        loop = ensure_event_loop()
        self._client = client
        try:
            # the kernel's own file descriptors never reach the grader's stdout (which may carry a JSON report)
            with open(self.stderr_path or os.devnull, "ab") as stderr:
                loop.run_until_complete(client.async_start_new_kernel(cwd=str(self.cwd),
                                                                      env=kernel_environment(self.cwd, self.extra_paths),
                                                                      stdout=subprocess.DEVNULL, stderr=stderr))
            loop.run_until_complete(client.async_start_new_kernel_client())
            sandbox.seal_runtime_dir(self._runtime_dir, self.protections)
        except BaseException:
            self.shutdown()  # nothing half-started outlives a failed start
            raise
        launcher = getattr(manager.provisioner, "process", None)
        own_uid = self.uid if self.protections.unprivileged_user else None
        self.clock = KernelClock(kernel_pid(own_uid, getattr(launcher, "pid", None)), own_uid)

    def shutdown(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.km is not None:
            manager = client.km
            loop = ensure_event_loop()
            try:
                loop.run_until_complete(asyncio.wait_for(manager.shutdown_kernel(now=True), KILL_GRACE_S))
            except Exception:  # already dead, or refusing to die: kill the process group outright
                try:
                    loop.run_until_complete(manager._async_kill_kernel())
                except Exception:
                    pass
            try:
                if client.kc is not None:
                    client.kc.stop_channels()
                loop.run_until_complete(manager._async_cleanup_resources())
            except Exception:
                pass
        if self._context is not None:
            self._context.destroy(linger=0)
            self._context = None
        if self._runtime_dir is not None:
            shutil.rmtree(self._runtime_dir, ignore_errors=True)
            self._runtime_dir = None

    def restart(self) -> None:
        self.shutdown()
        self.restarts += 1
        self.start()

    @property
    def alive(self) -> bool:
        return self._client is not None

    def execute(self, code: str, timeout_s: float, steps: Sequence[float] = (), nonces: Sequence[str] = ()) -> Outcome:
        """Run ``code`` within ``timeout_s``; on timeout or death the kernel is killed and ``alive`` turns
        False.  Code that publishes one bridge response per step (a batch of calls, the responses
        carrying ``nonces`` in order) gets ``steps[i]`` seconds for step ``i``, counted from the response
        before it; it is stopped at the first step that overruns.  Other responses are dropped."""
        if self._client is None:
            self.start()
        client = self._client
        cell = nbformat.v4.new_code_cell(code)
        client.nb.cells[0] = cell
        # nbclient's own deadline is the wall-clock backstop; the kernel's own time is watched here
        client.timeout = max(1, int(round(backstop_s(timeout_s) + KILL_GRACE_S)))
        client.expect(nonces)
        loop = ensure_event_loop()
        started = time.monotonic()
        try:
            loop.run_until_complete(_watched(client.async_execute_cell(cell, 0, store_history=False), client,
                                             timeout_s, list(steps), self.clock))
        except _StepTimeout as exc:
            self.shutdown()
            return self._ended("timeout", exc.limit_s, cell, client, started)
        except (CellTimeoutError, asyncio.TimeoutError, TimeoutError):
            self.shutdown()
            return self._ended("timeout", timeout_s, cell, client, started)
        except DeadKernelError:
            self.shutdown()
            return self._ended("dead", time.monotonic() - started, cell, client, started)
        duration = time.monotonic() - started
        outcome = self._ended("ok", duration, cell, client, started)
        outcome.output_truncated = any(o.get("name") == "dlgrade-truncated" for o in cell.outputs)
        outcome.outputs = cell.outputs
        for output in cell.outputs:
            if output.get("output_type") == "error":
                outcome.status, outcome.ename = "error", str(output.get("ename", ""))[:200]
                outcome.evalue = strip_ansi(str(output.get("evalue", "")))[:2000]
                outcome.traceback = strip_ansi("\n".join(output.get("traceback", [])))[-4000:]
                break
        return outcome

    @staticmethod
    def _ended(status: str, duration: float, cell, client: _CappedClient, started: float) -> Outcome:
        return Outcome(status, duration, stdout=_stdout(cell), responses=client.responses,
                       response_times=[t - started for t in client.response_times])


class _StepTimeout(Exception):
    def __init__(self, limit_s: float):
        self.limit_s = limit_s


async def _watched(execution, client: _CappedClient, total_s: float, steps: list[float],
                   clock: KernelClock | None = None) -> None:
    """Await ``execution`` within ``total_s`` of the kernel's own time; with ``steps``, also stop it when
    step ``i`` (the wait for response ``i``) takes more than ``steps[i]`` of it."""
    clock = clock or KernelClock()
    task = asyncio.ensure_future(execution)
    whole = step_mark = clock.mark()
    step_seen = 0
    try:
        while not task.done():
            step = client.progress()
            if step != step_seen:  # a response arrived: the next step's time starts from here
                step_seen, step_mark = step, clock.mark()
            overran = None
            if clock.overran(whole, total_s):
                overran = asyncio.TimeoutError()
            elif step < len(steps) and clock.overran(step_mark, steps[step]):
                overran = _StepTimeout(steps[step])
            if overran is not None:
                # a grader that was itself kept off the CPU may not have read an answer that has arrived
                await asyncio.wait({task}, timeout=WATCH_INTERVAL_S)
                if not task.done() and client.progress() == step:
                    raise overran
                continue
            await asyncio.wait({task}, timeout=WATCH_INTERVAL_S)
            # nbclient looks only once a second, and a student's code that kills its kernel is common
            if not task.done() and not await client.km.is_alive():
                raise DeadKernelError("the kernel died")
        return task.result()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task


def _stdout(cell) -> str:
    text = "".join(str(o.get("text", "")) for o in cell.get("outputs", []) if o.get("output_type") == "stream")
    return strip_ansi(text)[-4000:]
