"""A course environment: the packages a course's notebooks import that the grader's own Python lacks
(matplotlib, tqdm, pandas, ...), declared by the rubric's ``[environment]`` and built once with uv.

The packages are resolved against the grader's installed versions as constraints, and only what the
grader's Python does not already have is installed, into a folder of its own that the sandboxed kernel
sees read-only on its ``sys.path``: torch and numpy are never installed twice, and the kernel runs
the same interpreter as always.  The folder is cached under the hash of the requirements, the wheel
folders, the interpreter and the grader's installed packages, so a build happens once per machine and
course; a build another process has started is waited for, never done twice.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

from .faults import GraderFault

READY = "ready.json"
BUILD_TIMEOUT_S = 1800
# a requirement as PEP 508 writes one, without options uv would read as its own (-e, --index-url, ...)
REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._, -]+\])?\s*([<>=!~;@ ].*)?$")


@dataclass(frozen=True)
class Environment:
    requirements: tuple[str, ...]
    find_links: tuple[Path, ...] = ()  # folders of wheels, for a machine without an index
    offline: bool = False               # use only ``find_links`` (and uv's cache), never an index

    def digest(self) -> str:
        """What the built folder depends on: a change to any of it is another environment."""
        wheels = sorted(f"{path.name}:{path.stat().st_size}" for folder in self.find_links if folder.is_dir()
                        for path in folder.iterdir())
        return hashlib.sha256(json.dumps({
            "requirements": sorted(self.requirements), "find_links": [str(p) for p in self.find_links],
            "wheels": wheels, "offline": self.offline, "python": sys.version, "executable": sys.executable,
            "platform": platform.platform(), "installed": installed_versions()}).encode()).hexdigest()


@dataclass(frozen=True)
class Built:
    site: Path                      # the folder on the kernel's sys.path
    packages: tuple[str, ...]       # what was installed there: "name==version"
    seconds: float                  # how long the build took (0 when it came from the cache)
    cached: bool


def installed_versions() -> list[str]:
    """The grader's installed distributions, ``name==version``: the constraints of every build."""
    found = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            found[canonical(name)] = f"{canonical(name)}=={dist.version}"
    return sorted(found.values())


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def cache_root() -> Path:
    """``$DLGRADE_CACHE``, else ``$XDG_CACHE_HOME/dlgrade``, else ``~/.cache/dlgrade``."""
    if os.environ.get("DLGRADE_CACHE"):
        return Path(os.environ["DLGRADE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dlgrade"


def location(environment: Environment) -> Path:
    return cache_root() / "envs" / environment.digest()[:20]


def cached(folder: Path) -> Built | None:
    """The environment built in ``folder``, if a build finished there."""
    try:
        ready = json.loads((folder / READY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Built(folder / "site", tuple(ready.get("packages", [])), 0.0, True)


def ensure(environment: Environment, announce: Callable[[str], None] = lambda _: None) -> Built:
    """The built environment, building it first if no process has; ``announce`` hears one line before a
    build (the TA's progress line) and nothing when the cache has it.  ``GraderFault`` when it cannot
    be built: no student is graded without what the course said its notebooks need."""
    folder = location(environment)  # the digest reads every installed package's metadata: once
    found = cached(folder)
    if found is not None:
        return found
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process building it: wait, then use its result
        found = cached(folder)
        if found is not None:
            return found
        announce(f"building the course environment ({', '.join(environment.requirements)}) once; "
                 f"it is kept in {folder}")
        return _build(environment, folder)


def _build(environment: Environment, folder: Path) -> Built:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=f"{folder.name}-", dir=folder.parent))
    try:
        (work / "requirements.in").write_text("\n".join(environment.requirements) + "\n", encoding="utf-8")
        (work / "constraints.txt").write_text("\n".join(installed_versions()) + "\n", encoding="utf-8")
        sources = [arg for path in environment.find_links for arg in ("--find-links", str(path))]
        sources += ["--offline", "--no-index"] if environment.offline else []
        _uv("pip", "compile", str(work / "requirements.in"), "--constraint", str(work / "constraints.txt"),
            "--python", sys.executable, "--quiet", "--no-header", "--no-annotate", "--output-file",
            str(work / "resolved.txt"), *sources)
        installed = {line.split("==")[0] for line in installed_versions()}
        wanted = [line.strip() for line in (work / "resolved.txt").read_text(encoding="utf-8").splitlines()
                  if "==" in line and not line.lstrip().startswith("#")
                  and canonical(line.split("==")[0].strip()) not in installed]
        (work / "site").mkdir()
        if wanted:
            (work / "install.txt").write_text("\n".join(wanted) + "\n", encoding="utf-8")
            _uv("pip", "install", "--target", str(work / "site"), "--no-deps", "--python", sys.executable,
                "--quiet", "--requirement", str(work / "install.txt"), *sources)
        seconds = time.monotonic() - started
        (work / READY).write_text(json.dumps({"requirements": list(environment.requirements), "packages": wanted,
                                              "seconds": round(seconds, 1)}, indent=1), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)  # a half-built folder a killed process left
        os.replace(work, folder)
        os.chmod(folder, 0o755)
        return Built(folder / "site", tuple(wanted), seconds, False)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _uv(*args: str) -> None:
    binary = uv_binary()
    try:
        done = subprocess.run([binary, *args], capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
                              env={**os.environ, "UV_NO_PROGRESS": "1"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GraderFault(f"the course environment could not be built: uv {args[1]}: {exc}",
                          "run `grade env RUBRIC` to see the whole error") from None
    if done.returncode != 0:
        message = " ".join(done.stderr.split())[-1500:] or f"exit status {done.returncode}"
        raise GraderFault(f"the course environment could not be built: uv {args[1]}: {message}",
                          "check the rubric's [environment] requirements (they must fit the grader's own "
                          "torch and numpy), or give a folder of wheels in find_links for a machine without "
                          "an index; `grade env RUBRIC` builds it on its own", machine=True)


def uv_binary() -> str:
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise GraderFault("the course environment needs uv, which is not installed",
                              "pip install uv (dlgrade's own install brings it)", machine=True) from None
        return found
