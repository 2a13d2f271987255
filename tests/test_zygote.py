"""Warm kernels forked from the zygote: as isolated as cold ones, from each other and from the host."""
import json
import os
import pickle
import tempfile
import time
from pathlib import Path

import pytest

from grader.execution import sandbox
from grader.execution.kernel import KernelSession
from grader.execution.limits import Limits
from grader.execution.zygote import Zygote, ZygoteError, usable

LIMITS = Limits(call_timeout_s=5, cell_timeout_s=5, processes=64)

pytestmark = pytest.mark.skipif(not usable(sandbox.protections_for("auto", LIMITS)),
                                reason="warm kernels need root and a working bubblewrap")


@pytest.fixture(scope="module")
def zygote():
    with Zygote() as started:
        yield started


def workspace(zygote: Zygote, files: dict[str, str]) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="ws-", dir=zygote.stage))
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def run(session: KernelSession, code: str) -> dict:
    outcome = session.execute(f"import json, os, sys\nprint(json.dumps({code}))", 10)
    assert outcome.ok, outcome.describe()
    return json.loads(outcome.stdout.strip().splitlines()[-1])


def warm_session(zygote, folder) -> KernelSession:
    session = KernelSession(folder, LIMITS, zygote=zygote)
    session.start()
    assert session.warm, "the kernel was started cold"
    return session


def test_a_warm_kernel_sees_only_its_own_submission_and_keeps_its_writes(zygote):
    mine = workspace(zygote, {"notebook.txt": "mine"})
    theirs = workspace(zygote, {"secret.txt": "another student's"})
    session = warm_session(zygote, mine)
    try:
        seen = run(session, "{'cwd': os.getcwd(), 'here': sorted(os.listdir('.')), "
                            "'stage': sorted(os.listdir(os.path.dirname(os.getcwd()))), "
                            f"'theirs': os.path.exists({str(theirs / 'secret.txt')!r}), 'tmp': os.listdir('/tmp'), "
                            "'torch': 'torch' in sys.modules}")
        assert seen["cwd"] == str(mine.resolve())
        assert "notebook.txt" in seen["here"] and not seen["theirs"]
        assert theirs.name not in seen["stage"]
        assert seen["tmp"] == [zygote.stage.name] and seen["torch"]  # /tmp is its own; torch came warm
        session.execute("open('written.txt', 'w').write('x'); open('notebook.txt', 'w').write('changed')", 10)
    finally:
        session.shutdown()
    assert (mine / "notebook.txt").read_text() == "mine" and not (mine / "written.txt").exists()


def test_a_warm_kernel_is_unprivileged_alone_and_limited(zygote):
    first, second = (warm_session(zygote, workspace(zygote, {})) for _ in range(2))
    try:
        code = ("{'uid': os.getuid(), 'pid': os.getpid(), 'caps': [l for l in open('/proc/self/status') "
                "if l.startswith('CapEff')][0].split()[1], 'procs': [p for p in os.listdir('/proc') if p.isdigit()], "
                "'nproc': __import__('resource').getrlimit(__import__('resource').RLIMIT_NPROC)[0], "
                "'random': __import__('numpy').random.random()}")
        one, two = run(first, code), run(second, code)
        assert one["uid"] != 0 and two["uid"] != 0 and one["uid"] != two["uid"]
        assert one["pid"] == 1 and int(one["caps"], 16) == 0
        assert one["nproc"] == LIMITS.processes
        assert one["random"] != two["random"]  # each fork gets its own random state
        # the network is its own: a server in one kernel cannot be reached from the other
        assert first.execute("import socket; server = socket.create_server(('127.0.0.1', 0))", 10).ok
        port = run(first, "server.getsockname()[1]")
        reached = run(second, f"__import__('socket').socket().connect_ex(('127.0.0.1', {port})) == 0")
        assert reached is False
        assert run(first, "__import__('subprocess').run(['mount', '-t', 'tmpfs', 'x', '/tmp'], "
                          "capture_output=True).returncode") != 0
    finally:
        first.shutdown()
        second.shutdown()


def test_a_hung_warm_kernel_is_killed_and_a_new_one_forked(zygote):
    session = warm_session(zygote, workspace(zygote, {}))
    try:
        outcome = session.execute("while True: pass", 1)
        assert outcome.status == "timeout" and not session.alive
        session.start()
        assert session.warm and run(session, "1 + 1") == 2
    finally:
        session.shutdown()


@pytest.mark.parametrize("through", ["owner", "link"])
def test_kernels_start_cold_when_the_zygote_is_gone(through):
    with Zygote() as doomed:
        handle = doomed if through == "owner" else doomed.link()
        folder = workspace(doomed, {"a.txt": "x"})
        doomed._process.kill()
        doomed._process.wait()
        deadline = time.monotonic() + 10
        while handle.alive and time.monotonic() < deadline:  # the zygote inside outlives its bwrap briefly
            with pytest.raises(ZygoteError):
                handle.request(op="poll", id=1)
            time.sleep(0.05)
        assert not handle.alive
        session = KernelSession(folder, LIMITS, zygote=handle)
        try:
            session.start()
            assert not session.warm and "a.txt" in run(session, "os.listdir('.')")
        finally:
            session.shutdown()


def test_processes_share_one_zygote_through_links(zygote):
    """grade batch's workers reach the coordinator's zygote through a link (a pickled socket address)."""
    first, second = (pickle.loads(pickle.dumps(zygote.link())) for _ in range(2))
    sessions = [warm_session(link, workspace(zygote, {"who.txt": name})) for link, name in ((first, "a"), (second, "b"))]
    try:
        seen = [run(session, "{'who': open('who.txt').read(), 'torch': 'torch' in sys.modules, 'pid': os.getpid()}")
                for session in sessions]
        assert [s["who"] for s in seen] == ["a", "b"] and all(s["torch"] and s["pid"] == 1 for s in seen)
    finally:
        for session in sessions:
            session.shutdown()


def test_a_link_sees_and_signals_only_its_own_kernels(zygote):
    mine, other = zygote.link(), zygote.link()
    session = warm_session(mine, workspace(zygote, {}))
    try:
        identity = session._client.km.provisioner.process.identity
        with pytest.raises(ZygoteError):
            other.request(op="poll", id=identity)
        assert other.request(op="signal", id=identity, signum=9).get("code") is None
        assert run(session, "1 + 1") == 2  # still alive
    finally:
        session.shutdown()


def test_a_links_kernels_die_with_its_connection(zygote):
    link = zygote.link()
    session = warm_session(link, workspace(zygote, {}))
    try:
        assert run(session, "1 + 1") == 2
        link.close()  # as when its process ends
        outcome = session.execute("import time; time.sleep(30)", 20)
        assert outcome.status == "dead" and outcome.duration_s < 10
    finally:
        session.shutdown()


def _tree(root: int) -> list[tuple[int, str]]:
    """(pid, state) of every process below ``root``."""
    parents, states = {}, {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(entry)], states[int(entry)] = int(fields[1]), fields[0]
    below, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        below += children
        frontier += children
    return [(pid, states[pid]) for pid in below]


def test_a_killed_kernel_is_answered_for_at_once_and_reaped_with_all_its_processes():
    with Zygote() as own:
        idle = len(_tree(own._process.pid))  # bwrap's child and the zygote itself
        session = warm_session(own, workspace(own, {}))
        process = session._client.km.provisioner.process
        assert session.execute("import subprocess\nchildren = [subprocess.Popen(['sleep', '600']) for _ in range(20)]",
                               10).ok
        assert len(_tree(own._process.pid)) >= idle + 22  # go-between, kernel, its children
        process.kill()
        assert process.returncode == -9  # before the teardown ends: the grader need not wait for it
        session.shutdown()
        deadline = time.monotonic() + 20
        while len(_tree(own._process.pid)) > idle and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_tree(own._process.pid)) == idle, _tree(own._process.pid)  # not even a zombie is left
