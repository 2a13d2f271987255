"""Run one student notebook in its own kernel and call its functions for the checks.

The runner executes the notebook's code (all of it, or only its definitions), records every cell
error, and keeps the kernel alive for the checks: a call that hangs or crashes the kernel costs that
call only — the kernel is restarted and the code that had run is replayed before the next call.
"""
from __future__ import annotations

import functools
import json
import secrets
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import bridge, integrity
from .cells import CodeUnit, defined_names, definitions_program, select_code
from .limits import Limits
from .sandbox import Protections
from .zygote import Spawner

if TYPE_CHECKING:  # the kernel machinery (jupyter_client, zmq, nbclient) loads only when a notebook runs
    from .kernel import KernelSession, Outcome

MAX_NOTEBOOK_BYTES = 64 * 2**20
AGENT_SOURCE = resources.files(__package__).joinpath("agent_source.py").read_text()


class NotebookUnreadable(Exception):
    pass


@dataclass
class CellError:
    cell: int
    error: str
    traceback: str = ""
    names: tuple[str, ...] = ()  # the definitions it cost, where they are known without running anything


@dataclass(frozen=True)
class Call:
    """One call for the agent: ``function`` (a name in the notebook's namespace, or a handle) with
    ``args`` and ``kwargs`` (arrays, structures, handles); ``op`` selects one of the agent's operations
    on a kept module; ``keep`` keeps the result in the kernel under that handle; ``pick`` sends back only
    those elements of a returned tuple."""

    function: "str | bridge.Handle"
    args: list
    kwargs: dict | None = None
    keep: str | None = None
    tensors: bool = False
    trace: bool = False
    op: str = "call"
    timeout_s: float | None = None
    pick: tuple[int, ...] | None = None  # the returned tuple's elements that are sent back

    @property
    def label(self) -> str:
        return self.function if isinstance(self.function, str) else "the module"

    def request(self) -> tuple[str, str]:
        """The agent's JSON request for this call, and the nonce its response will carry."""
        return bridge.with_nonce(self._body)

    @functools.cached_property
    def _body(self) -> str:  # a call planned once for a session (``calling.planned_cases``) is encoded once
        return bridge.request_body(self.function, self.args, keep=self.keep, tensors=self.tensors, trace=self.trace,
                                   kwargs=self.kwargs, op=self.op, pick=self.pick)


@dataclass
class CallResult:
    status: str  # ok | error | missing | timeout | dead | invalid
    value: Any = None
    message: str = ""
    traceback: str = ""
    duration_s: float = 0.0
    traced: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def kernel_machinery():
    """The kernel module (jupyter_client, zmq, nbclient), imported on first use so that grading written
    answers never loads it.  Whoever starts threads that import (the references' import, the preflight)
    calls this first on its own thread: two threads importing the same packages in different orders can
    deadlock Python's module locks."""
    from . import kernel

    return kernel


def read_notebook(path: Path) -> tuple[list[dict], str | None]:
    """The notebook's cells as plain dicts and the kernel it declares; any problem is a
    ``NotebookUnreadable`` naming it."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise NotebookUnreadable(f"{path.name} is {size / 2**20:.0f} MiB, more than the "
                                 f"{MAX_NOTEBOOK_BYTES // 2**20} MiB a notebook may be")
    if path.suffix.lower() == ".py":  # a plain Python file is one cell (definitions mode runs it statement by statement)
        return [{"cell_type": "code", "source": path.read_bytes().decode("utf-8", errors="replace")}], None
    try:
        document = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:
        raise NotebookUnreadable(f"{path.name} is not valid notebook JSON ({exc})"[:300]) from None
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise NotebookUnreadable(f"{path.name} has no list of cells: is it a Jupyter notebook?")
    spec = document.get("metadata", {}).get("kernelspec", {}) if isinstance(document.get("metadata"), dict) else {}
    kernel = spec.get("name") if isinstance(spec, dict) and isinstance(spec.get("name"), str) else None
    return cells, kernel


def package_root(path: Path, workspace: Path | None) -> tuple[Path, str]:
    """Where a file runs from, and the package it belongs to: a notebook runs in its folder; a ``.py``
    file in a package (folders with ``__init__.py``) runs from the folder that holds the package, so that
    ``from cs231n.layers import *`` and ``from .layers import *`` resolve."""
    folder, parts = path.parent, []
    if path.suffix.lower() != ".py":
        return folder, ""
    top = workspace.resolve() if workspace is not None else None
    while (folder / "__init__.py").is_file() and folder.name.isidentifier() and folder.resolve() != top:
        parts.insert(0, folder.name)
        folder = folder.parent
    return folder, ".".join(parts)


def read_notebook_cells(path: Path) -> list[dict]:
    return read_notebook(path)[0]


@dataclass
class NotebookRunner:
    """Use as a context manager: ``with NotebookRunner(...) as run: run.call("f", [x])``."""

    path: Path
    mode: str
    limits: Limits
    workspace: Path | None = None  # the submission's root, mirrored into the sandbox (default: the notebook's folder)
    protections: Protections | None = None
    zygote: Spawner | None = None  # starts the kernel warm (grade batch)
    extra_paths: tuple[str, ...] = ()  # a course environment's packages, read-only on the kernel's sys.path
    units: list[CodeUnit] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    duration_s: float = 0.0
    timed_out: bool = False
    declared_kernel: str | None = None
    stderr_path: Path | None = None  # where a cold kernel's stderr goes (the preflight's); else nowhere
    _session: KernelSession | None = None
    _succeeded: list[CodeUnit] = field(default_factory=list)
    replay_s: float = 0.0  # spent replaying the notebook after the kernel died: at most its budget
    tampered: bool = False  # a call changed the agent (integrity.py): the calls after it were refused
    _agent_name: str = field(default_factory=integrity.agent_name)
    _fingerprint: str = "none"

    def __enter__(self) -> "NotebookRunner":
        started = time.monotonic()
        cells, self.declared_kernel = read_notebook(self.path)
        folder, package = package_root(self.path, self.workspace)
        self.units = select_code(cells, self.mode)
        if package:  # a module of a package (cs231n/rnn_layers.py): its relative imports resolve
            self.units.insert(0, CodeUnit(0, f"__package__ = {package!r}"))
        KernelSession = kernel_machinery().KernelSession  # noqa: N806
        self._session = KernelSession(folder, self.limits, self.workspace, self.protections,
                                      zygote=self.zygote, stderr_path=self.stderr_path, extra_paths=self.extra_paths)
        self._session.start()
        try:
            self._run_units(started)
        finally:
            self.duration_s = time.monotonic() - started
        if self._session.alive:
            self._install_agent()
        else:
            self._ensure_kernel()
        return self

    def __exit__(self, *exc) -> None:
        if self._session is not None:
            self._session.shutdown()

    @property
    def restarts(self) -> int:
        return self._session.restarts if self._session else 0

    def _run_units(self, started: float) -> None:
        """Each run of definitions cells goes to the kernel as one request (a cell still has its own
        deadline); whatever that request could not settle, and every cell run as written, goes alone."""
        for group in _groups(self.units):
            settled = self._run_together(group, started) if len(group) > 1 else 0
            for unit in group[settled:]:
                self._run_alone(unit, started)

    def _budget_left(self, started: float) -> float:
        return self.limits.notebook_timeout_s - (time.monotonic() - started)

    def _run_together(self, units: list[CodeUnit], started: float) -> int:
        """How many of ``units`` one request settled, in order (0 when the kernel or the budget is gone:
        running them alone says why)."""
        if self._budget_left(started) <= 0 or not self._ensure_kernel():
            return 0
        return self._run_definitions(units, self._budget_left(started), alone=False)

    def _run_alone(self, unit: CodeUnit, started: float) -> None:
        if unit.note:  # what of the cell could not be read; the rest of it still runs
            self.errors.append(CellError(unit.cell, unit.note, names=unit.unread))
        if not unit.source:
            return
        left = self._budget_left(started)
        if left <= 0:
            self.timed_out = True
            self.errors.append(CellError(unit.cell, f"not run: the notebook's {self.limits.notebook_timeout_s:.0f} s "
                                                    "budget was spent before this cell"))
            return
        if not self._ensure_kernel():
            self.errors.append(CellError(unit.cell, f"not run: the kernel died {self.restarts} times and replaying "
                                                    "the cells before this one spent the notebook's budget"))
            return
        if unit.definitions:
            self._run_definitions([unit], left, alone=True)
            return
        outcome = self._session.execute(unit.source, min(self.limits.cell_timeout_s, left))
        if outcome.ok:
            self._succeeded.append(unit)
        else:
            self.errors.append(CellError(unit.cell, _cell_message(outcome), outcome.traceback))

    def _run_definitions(self, units: list[CodeUnit], left: float, alone: bool) -> int:
        """Run ``units`` in one request within ``left`` seconds, each cell within the cell timeout; how many
        it settled.  A cell whose response is missing is settled only when it is known to be the one that
        failed the request: it was the last, or the request timed out on it or raised."""
        nonces = [secrets.token_hex(8) for _ in units]
        steps = [min(self.limits.cell_timeout_s, left)] * len(units)
        outcome = self._session.execute(definitions_program(units, nonces), left, steps, nonces)
        responses = bridge.by_nonce(outcome.responses)
        for index, (unit, nonce) in enumerate(zip(units, nonces)):
            answer = responses[nonce]["data"][bridge.MIME] if nonce in responses else None
            if answer is None and not (alone or index == len(units) - 1 or outcome.status in ("timeout", "error")):
                return index
            if not alone and unit.note:
                self.errors.append(CellError(unit.cell, unit.note, names=unit.unread))
            if answer is None and outcome.ok:  # its response went missing, though the request went through
                self._succeeded.append(unit)
            elif answer is None:
                self.errors.append(CellError(unit.cell, _cell_message(outcome), outcome.traceback))
            elif isinstance(answer.get("error"), str):
                self.errors.append(CellError(unit.cell, answer["error"][:2000], _text(answer.get("traceback"))))
            else:
                self._succeeded.append(unit)
                notes = answer.get("notes")
                if isinstance(notes, list) and notes:  # what did not run, and why; the rest of the cell did
                    self.errors.append(CellError(unit.cell, "; ".join(str(note)[:500] for note in notes[:20])))
            if answer is None:
                return index + 1
        return len(units)

    def _ensure_kernel(self) -> bool:
        """Restart a killed kernel and replay the code that had run, so later calls see its definitions;
        False when the replay budget is spent.  All replays together get as long as the notebook's budget
        (not the budget left: a notebook that spent its budget before a call still has its definitions
        graded), so a submission that kills its kernel again and again costs at most twice its budget."""
        if self._session.alive:
            return True
        if self._replay_budget_left() <= 0:
            return False
        started = time.monotonic()
        self._session.restart()
        for group in _groups(self._succeeded):  # a run of definitions cells in one request, as they first ran
            left = self._replay_budget_left() - (time.monotonic() - started)
            if left <= 0:
                self._session.shutdown()
                break
            step = min(self.limits.cell_timeout_s, left)
            if group[0].definitions:
                nonces = [secrets.token_hex(8) for _ in group]
                self._session.execute(definitions_program(group, nonces), left, [step] * len(group), nonces)
            else:
                self._session.execute(group[0].source, step)
        self.replay_s += time.monotonic() - started
        if not self._session.alive:
            return False
        self._install_agent()
        return True

    def _replay_budget_left(self) -> float:
        return self.limits.notebook_timeout_s - self.replay_s

    def _install_agent(self) -> None:
        # Installed after the student's cells, so their code cannot have replaced it before it is used;
        # under a name of this kernel's, and fingerprinted (integrity.py) so no later change goes unseen.
        nonce = secrets.token_hex(8)
        outcome = self._session.execute(integrity.install_code(AGENT_SOURCE, self._agent_name, nonce),
                                        self.limits.cell_timeout_s)
        self._fingerprint = integrity.published_fingerprint(outcome.outputs, nonce) or "none"

    def cell_error_for(self, name: str) -> CellError | None:
        """The error of the cell that should have defined ``name``, if that cell failed."""
        for error in self.errors:
            if name in error.names:
                return error
        failed = {error.cell: error for error in self.errors}
        for unit in self.units:
            if unit.cell in failed and name in defined_names(unit.source):
                return failed[unit.cell]
        return None

    def place(self, cell: int) -> str:
        """Where a cell is, in a student's words: a notebook's cell, or the Python file itself."""
        return self.path.name if self.path.suffix.lower() == ".py" else f"cell {cell}"

    def call(self, function: "str | bridge.Handle", args: list, **options) -> CallResult:
        """One ``Call(function, args, **options)``."""
        return self.call_many([Call(function, args, **options)])[0]

    def call_many(self, calls: list[Call]) -> list[CallResult]:
        """The calls' results, in order, from one request to the kernel: each call still has its own
        deadline.  After a call that hangs or kills the kernel the others are not made, and the list ends
        with that call's result."""
        if not calls:
            return []
        if not self._ensure_kernel():
            return [CallResult("dead", message=f"{calls[0].label}() was not called: the kernel died {self.restarts} "
                                               f"times and its replays have spent the notebook's "
                                               f"{self.limits.notebook_timeout_s:.0f} s budget")]
        requests = [call.request() for call in calls]
        steps = [call.timeout_s or self.limits.call_timeout_s for call in calls]
        code = integrity.guarded_batch(self._agent_name, self._fingerprint, [text for text, _ in requests])
        outcome = self._session.execute(code, sum(steps), steps, [nonce for _, nonce in requests])
        results = []
        responses = bridge.by_nonce(outcome.responses)
        for index, (call, (_, nonce)) in enumerate(zip(calls, requests)):
            duration = _step_duration(outcome, index)
            if nonce in responses or outcome.status == "ok":
                results.append(call_result([responses[nonce]] if nonce in responses else [], nonce, call.label,
                                           duration))
            elif outcome.status == "dead" and len(calls) > 1:
                # a dying kernel may take the responses it had not yet sent with it: which call killed it
                # is known only by making the calls again, one at a time
                return results + self._one_by_one(calls[index:])
            elif outcome.status in ("timeout", "dead"):
                return results + [CallResult(outcome.status, message=_call_message(outcome, call.label),
                                             duration_s=duration)]
            else:  # the agent itself was broken by the student's code: the rest are made one at a time
                self.tampered = self.tampered or integrity.TAMPERED in outcome.evalue
                results.append(CallResult("error", message=_cell_message(outcome), traceback=outcome.traceback,
                                          duration_s=duration))
                return results + self._one_by_one(calls[index + 1:])
        return results

    def _one_by_one(self, calls: list[Call]) -> list[CallResult]:
        results: list[CallResult] = []
        for call in calls:
            results += self.call_many([call])
            if results[-1].status in ("timeout", "dead"):
                break
        return results


def _groups(units: list[CodeUnit]) -> list[list[CodeUnit]]:
    """``units`` in order, cut into runs of consecutive definitions cells; every other cell is a group of
    its own."""
    groups: list[list[CodeUnit]] = []
    for unit in units:
        if unit.definitions and groups and groups[-1][-1].definitions:
            groups[-1].append(unit)
        else:
            groups.append([unit])
    return groups


def _text(value: Any, limit: int = 4000) -> str:
    return value[-limit:] if isinstance(value, str) else ""


def _step_duration(outcome: Outcome, index: int) -> float:
    """How long call ``index`` of a batch took: from the response before it to its own (or to the end)."""
    times = [0.0, *outcome.response_times]
    start = times[min(index, len(times) - 1)]
    end = times[index + 1] if index + 1 < len(times) else outcome.duration_s
    return max(0.0, end - start)


def call_result(outputs: list[dict], nonce: str, label: str, duration: float) -> CallResult:
    """The outcome of one agent call, from the display outputs it published."""
    try:
        response = bridge.read_response(outputs, nonce)
    except bridge.BridgeError as exc:
        return CallResult("invalid", message=str(exc), duration_s=duration)
    return _call_result(response, label, duration)


def _cell_message(outcome: Outcome) -> str:
    if outcome.status == "timeout":
        return f"cell timed out after {outcome.duration_s:.0f} s"
    return outcome.describe()


def _call_message(outcome: Outcome, function: str) -> str:
    if outcome.status == "timeout":
        return f"{function}() did not return within {outcome.duration_s:.0f} s (an infinite loop?)"
    return f"{function}() crashed the kernel (exit, fatal signal or out of memory)"


def _call_result(response: bridge.Response, function: str, duration: float) -> CallResult:
    if response.status == "ok":
        return CallResult("ok", value=response.value, duration_s=duration, traced=response.traced)
    if response.status == "missing":
        hint = f"; did you mean {', '.join(response.candidates)}?" if response.candidates else ""
        return CallResult("missing", message=f"{function} is not defined in the notebook{hint}", duration_s=duration)
    if response.status == "unencodable":
        return CallResult("invalid", message=f"{function}() returned {response.message}, which cannot be graded",
                          duration_s=duration)
    return CallResult("error", message=f"{function}() raised {response.error_type}: {response.message}",
                      traceback=response.traceback, duration_s=duration, traced=response.traced)
