"""Run one student notebook in its own kernel and call its functions for the checks.

The runner executes the notebook's code (all of it, or only its definitions), records every cell
error, and keeps the kernel alive for the checks: a call that hangs or crashes the kernel costs that
call only — the kernel is restarted and the code that had run is replayed before the next call.
"""
from __future__ import annotations

import ast
import json
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from . import bridge
from .cells import CodeUnit, select_code
from .kernel import KernelSession, Outcome
from .limits import Limits
from .sandbox import Protections
from .zygote import Zygote

MAX_NOTEBOOK_BYTES = 64 * 2**20
AGENT_SOURCE = resources.files(__package__).joinpath("agent_source.py").read_text()


class NotebookUnreadable(Exception):
    pass


@dataclass
class CellError:
    cell: int
    error: str
    traceback: str = ""


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


def read_notebook(path: Path) -> tuple[list[dict], str | None]:
    """The notebook's cells as plain dicts and the kernel it declares; any problem is a
    ``NotebookUnreadable`` naming it."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise NotebookUnreadable(f"{path.name} is {size / 2**20:.0f} MiB, more than the "
                                 f"{MAX_NOTEBOOK_BYTES // 2**20} MiB a notebook may be")
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


def read_notebook_cells(path: Path) -> list[dict]:
    return read_notebook(path)[0]


def defined_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


@dataclass
class NotebookRunner:
    """Use as a context manager: ``with NotebookRunner(...) as run: run.call("f", [x])``."""

    path: Path
    mode: str
    limits: Limits
    workspace: Path | None = None  # the submission's root, mirrored into the sandbox (default: the notebook's folder)
    protections: Protections | None = None
    zygote: Zygote | None = None  # starts the kernel warm (grade batch)
    units: list[CodeUnit] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    duration_s: float = 0.0
    timed_out: bool = False
    declared_kernel: str | None = None
    _session: KernelSession | None = None
    _succeeded: list[CodeUnit] = field(default_factory=list)

    def __enter__(self) -> "NotebookRunner":
        started = time.monotonic()
        cells, self.declared_kernel = read_notebook(self.path)
        self.units = select_code(cells, self.mode)
        self._session = KernelSession(self.path.parent, self.limits, self.workspace, self.protections,
                                      zygote=self.zygote)
        self._session.start()
        try:
            self._run_units(started)
        finally:
            self.duration_s = time.monotonic() - started
        self._ensure_kernel()
        self._install_agent()
        return self

    def __exit__(self, *exc) -> None:
        if self._session is not None:
            self._session.shutdown()

    @property
    def restarts(self) -> int:
        return self._session.restarts if self._session else 0

    def _run_units(self, started: float) -> None:
        for unit in self.units:
            if unit.note:
                self.errors.append(CellError(unit.cell, unit.note))
                continue
            left = self.limits.notebook_timeout_s - (time.monotonic() - started)
            if left <= 0:
                self.timed_out = True
                self.errors.append(CellError(unit.cell, f"not run: the notebook's {self.limits.notebook_timeout_s:.0f} s "
                                                        "budget was spent before this cell"))
                continue
            self._ensure_kernel()
            outcome = self._session.execute(unit.source, min(self.limits.cell_timeout_s, left))
            if outcome.ok:
                self._succeeded.append(unit)
            else:
                self.errors.append(CellError(unit.cell, _cell_message(outcome), outcome.traceback))

    def _ensure_kernel(self) -> None:
        """Restart a killed kernel and replay the code that had run, so later calls see its definitions."""
        if self._session.alive:
            return
        self._session.restart()
        for unit in self._succeeded:
            self._session.execute(unit.source, self.limits.cell_timeout_s)
        self._install_agent()

    def _install_agent(self) -> None:
        # Installed after the student's cells, so their code cannot have replaced it before it is used.
        self._session.execute(AGENT_SOURCE, self.limits.cell_timeout_s)

    def cell_error_for(self, name: str) -> CellError | None:
        """The error of the cell that should have defined ``name``, if that cell failed."""
        failed = {error.cell: error for error in self.errors}
        for unit in self.units:
            if unit.cell in failed and name in defined_names(unit.source):
                return failed[unit.cell]
        return None

    def call(self, function: "str | bridge.Handle", args: list, *, keep: str | None = None, tensors: bool = False,
             timeout_s: float | None = None, trace: bool = False, kwargs: dict | None = None,
             op: str = "call") -> CallResult:
        """Call ``function`` (a name in the notebook's namespace, or a handle) with ``args`` and ``kwargs``
        (arrays, structures, handles); ``op`` selects one of the agent's operations on a kept module."""
        self._ensure_kernel()
        code, nonce = bridge.request_code(function, args, keep=keep, tensors=tensors, trace=trace, kwargs=kwargs, op=op)
        outcome = self._session.execute(code, timeout_s or self.limits.call_timeout_s)
        label = function if isinstance(function, str) else "the module"
        if outcome.status in ("timeout", "dead"):
            return CallResult(outcome.status, message=_call_message(outcome, label), duration_s=outcome.duration_s)
        if outcome.status == "error":  # the agent itself was broken by the student's code
            return CallResult("error", message=_cell_message(outcome), traceback=outcome.traceback,
                              duration_s=outcome.duration_s)
        return call_result(outcome.outputs, nonce, label, outcome.duration_s)


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
