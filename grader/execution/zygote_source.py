"""The warm zygote: runs inside the outer sandbox (``zygote.py`` starts it with ``python -c``), imports
ipykernel, numpy and torch once, and forks one kernel per request.

It reads one JSON request per line on stdin and answers one JSON line on stdout; given a socket path,
it also serves other grader processes, each on a connection of its own, the same way.  It never runs student
code itself: each kernel is a forked child that first walls itself off from every other kernel — new
mount, PID, network and IPC namespaces; a size-limited tmpfs holding a copy of its own submission, with
every other submission hidden; its own /tmp, /dev/shm and /proc — then takes resource limits and an
unprivileged uid of its own (which drops every capability), and only then starts ipykernel.

Standalone on purpose: the grader's packages are hidden inside the sandbox.
"""
import ctypes
import gc
import json
import os
import random
import resource
import selectors
import shutil
import signal
import socket
import sys

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x08000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x1000, 0x4000, 0x40000
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
LIBC = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None):
    _check(LIBC.mount(source and source.encode(), target.encode(), fstype and fstype.encode(), ctypes.c_ulong(flags),
                      data and data.encode()), f"mount {target}")


def _tmpfs(target, size_bytes, mode):
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size_bytes},mode={mode}")


def _chown_tree(top, uid):
    os.lchown(top, uid, uid)
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, uid)


def _wall_off(request):
    """In the kernel's own namespaces (it is PID 1 of its own): only its submission stays visible."""
    uid, workspace, runtime = request["uid"], request["workspace"], request["runtime_dir"]
    submission_hold, runtime_hold = request["holds"]  # empty folders the outer sandbox made
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount(runtime, runtime_hold, None, MS_BIND)
    _tmpfs(submission_hold, request["disk_bytes"], "0755")
    shutil.copytree(workspace, submission_hold, symlinks=True, dirs_exist_ok=True)
    _chown_tree(submission_hold, uid)
    _tmpfs(request["stage"], 1 << 20, "0755")  # every other submission and kernel disappears
    # A Python installed under /tmp (a venv there) must stay visible on top of the kernel's own /tmp: it
    # is held by descriptor while the scratch folders are covered, then bound back where it was.
    pythons = [(root, os.open(root, os.O_PATH | os.O_DIRECTORY)) for root in request["python_under_scratch"]]
    for scratch in ("/tmp", "/var/tmp", "/dev/shm"):
        _tmpfs(scratch, request["disk_bytes"], "1777")
    for root, held in pythons:
        os.makedirs(root, exist_ok=True)
        _mount(f"/proc/self/fd/{held}", root, None, MS_BIND | MS_REC)
        os.close(held)
    os.makedirs(workspace, exist_ok=True)
    os.makedirs(runtime, exist_ok=True)
    _mount(submission_hold, workspace, None, MS_BIND | MS_REC)
    _mount(runtime_hold, runtime, None, MS_BIND)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def _become_unprivileged(request):
    for name, value in request["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    uid = request["uid"]
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # from root to another uid: every capability is dropped with it
    _check(LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    if os.getuid() == 0 or os.geteuid() == 0:
        raise RuntimeError("the kernel is still root")


def _start_kernel(request):
    os.environ.clear()
    os.environ.update(request["env"])
    # what a fresh interpreter does with PYTHONPATH (a course environment's packages), done after the fork
    sys.path[1:1] = [path for path in os.environ.get("PYTHONPATH", "").split(os.pathsep) if path]
    os.chdir(request["cwd"])
    _reseed()  # forked children would otherwise share the zygote's random state
    sys.argv = ["ipykernel_launcher", *request["arguments"]]
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(sys.argv[1:])
    app.start()


def _reseed():
    random.seed()
    for name in ("numpy", "torch"):
        module = sys.modules.get(name)
        if module is not None:
            module.random.seed()


def _kernel(request):
    """The kernel process: never returns into the zygote's loop."""
    code = 1
    try:
        LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        os.setsid()  # a session and process group of its own, like a cold kernel's
        _wall_off(request)
        _become_unprivileged(request)
        _start_kernel(request)
        code = 0
    except BaseException as exc:  # noqa: BLE001 - report and die, whatever happened
        try:
            with open(os.path.join(request["runtime_dir"], "zygote-error"), "w") as log:
                log.write(f"{type(exc).__name__}: {exc}")
        except OSError:
            pass
    finally:
        os._exit(code)


def _spawn(request, kernels):
    """Fork the go-between (new namespaces for its children), which forks the kernel and waits for it."""
    read_end, write_end = os.pipe()
    between = os.fork()
    if between == 0:
        try:
            os.close(read_end)
            LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            keep = write_end
            _quiet_stdio_keeping(keep)  # the command channel must never reach a kernel
            _check(LIBC.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC), "unshare")
            kernel = os.fork()
            if kernel == 0:
                os.close(keep)
                _kernel(request)
            os.write(keep, str(kernel).encode())
            os.close(keep)
            _, status = os.waitpid(kernel, 0)
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        except BaseException:  # noqa: BLE001
            os._exit(127)
    os.close(write_end)
    answer = os.read(read_end, 32)
    os.close(read_end)
    if not answer:
        os.waitpid(between, 0)
        raise RuntimeError("the kernel's namespaces could not be made")
    kernels[request["id"]] = (between, int(answer))
    return {"ok": True}


def _quiet_stdio_keeping(keep):
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, keep)
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))


def _poll(request, channel):
    identity = request["id"]
    if identity in channel.codes:
        return {"ok": True, "code": channel.codes[identity]}
    between, _ = channel.kernels[identity]
    pid, status = os.waitpid(between, os.WNOHANG)
    if pid == 0:
        return {"ok": True, "code": None}
    channel.ended(identity, status)
    return {"ok": True, "code": channel.codes[identity]}


def _signal(request, channel, reaping):
    identity, signum = request["id"], request["signum"]
    if identity in channel.codes or identity not in channel.kernels:
        return {"ok": True, "code": channel.codes.get(identity)}
    between, kernel = channel.kernels[identity]
    try:
        os.kill(kernel, signum)
    except ProcessLookupError:
        pass
    if signum != signal.SIGKILL:
        return {"ok": True, "code": None}
    # a killed kernel runs nothing more, but its teardown takes a while (its namespaces wait for an RCU
    # grace period; a fork bomb has hundreds of processes): it is answered for at once, and reaped when
    # its go-between exits
    pid, status = os.waitpid(between, os.WNOHANG)
    if pid:
        channel.ended(identity, status)
    else:
        channel.codes[identity] = -signal.SIGKILL
        del channel.kernels[identity]
        _reap_later(between, reaping)
    return {"ok": True, "code": channel.codes[identity]}


def _reap_later(between, reaping):
    try:
        reaping.register(os.pidfd_open(between), selectors.EVENT_READ, between)
    except (AttributeError, OSError):  # no pidfd here: wait in line
        os.waitpid(between, 0)


class _Channel:
    """One grader process's line of requests (the owner's stdin, or a connection to the socket) and the
    kernels it spawned: a channel sees and signals only its own."""

    def __init__(self, read, write):
        self.read, self.write = read, write
        self.buffer = b""
        self.kernels, self.codes = {}, {}

    def ended(self, identity, status):
        self.codes[identity] = os.waitstatus_to_exitcode(status)
        del self.kernels[identity]

    def answer(self, answer):
        try:
            self.write(json.dumps(answer).encode() + b"\n")
        except OSError:  # its grader is gone; the end of its input says so next
            pass

    def handle(self, reaping):
        operations = {"spawn": lambda r: _spawn(r, self.kernels), "poll": lambda r: _poll(r, self),
                      "signal": lambda r: _signal(r, self, reaping)}
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            try:
                request = json.loads(line)
                answer = operations[request["op"]](request)
            except Exception as exc:  # noqa: BLE001 - one failed request, not a dead zygote
                answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            self.answer(answer)

    def close(self, reaping):
        """Its grader is gone: so are its kernels."""
        for between, kernel in self.kernels.values():
            try:
                os.kill(kernel, signal.SIGKILL)
            except OSError:
                pass
            _reap_later(between, reaping)
        self.kernels.clear()


def _serve(owner, listener):
    """Until the owner's stdin ends: requests from it and from every connection to ``listener``."""
    events = selectors.DefaultSelector()
    events.register(0, selectors.EVENT_READ, owner)
    if listener is not None:
        events.register(listener, selectors.EVENT_READ, None)
    while True:
        for key, _ in events.select():
            if key.fileobj is listener:
                connection, _ = listener.accept()
                channel = _Channel(connection.recv, connection.sendall)
                events.register(connection, selectors.EVENT_READ, channel)
            elif isinstance(key.data, int):  # a killed kernel's go-between has exited
                events.unregister(key.fileobj)
                os.close(key.fd)
                os.waitpid(key.data, 0)
            else:
                channel = key.data
                try:
                    data = channel.read(65536)
                except OSError:
                    data = b""
                if not data:
                    if channel is owner:
                        return  # the zygote ends at end of input; its kernels die with it
                    events.unregister(key.fileobj)
                    key.fileobj.close()
                    channel.close(events)
                    continue
                channel.buffer += data
                channel.handle(events)


def main():
    answers = os.fdopen(os.dup(1), "wb")

    def write(data):
        answers.write(data)
        answers.flush()

    owner = _Channel(lambda size: os.read(0, size), write)

    listener = None
    if len(sys.argv) > 2:  # before the slow imports: a grader may connect at once, and waits in the backlog
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(sys.argv[2])
        os.chmod(sys.argv[2], 0o600)
        listener.listen(64)
    owner.answer({"ok": True, "listening": True})
    for name in json.loads(sys.argv[1]):
        try:
            __import__(name)
        except Exception:  # noqa: BLE001 - a missing optional package is only a cold import later
            pass
    import ipykernel.kernelapp  # noqa: F401 - the kernel itself, warm
    _reseed()  # numpy's first seeding from the OS costs 5 ms of setting up: here once, not in every kernel
    # what is imported stays out of the collector's sight: its passes would otherwise write to every
    # object, copying each shared page into every kernel
    gc.freeze()
    owner.answer({"ok": True, "ready": True})
    _serve(owner, listener)


if __name__ == "__main__":
    main()
