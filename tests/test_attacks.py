"""The attack suite: hostile submissions graded end to end through the real ``grade`` command.

Every attack notebook first defines ``double`` honestly (item ``honest``); the attack lives in a cell or
in ``target`` (item ``attacked``, reference x + 1).  Attacks that try to steal something return x + 1
only when the theft worked, so a hole in the sandbox shows up as points.  Each attack asserts: the
grader finished with the expected exit status, the honest item kept its points, the attacked item got
no points it should not, the run ended within its limits plus a margin; and, after the whole suite,
nothing outside the workspaces changed and no process of any submission is left.
"""
from __future__ import annotations

import csv
import json
import shutil
import os
import socket
import stat
import subprocess
import textwrap
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import GRADE, REPO, notebook_text, restamped_zip

HERE = Path(__file__).resolve().parent / "attacks"
HONEST = "import numpy as np\ndef double(x):\n    return 2 * x"
CORRECT_TARGET = "def target(x):\n    return x + 1"
MARKER = "dlgrade-attack-marker"
SECRET_ENV = "DLGRADE_TEST_SECRET"


@dataclass
class Attack:
    name: str
    cells: list[str] | None = None            # notebook code cells after the honest one
    files: dict | None = None                 # a hand-made zip instead of a notebook
    attacked: str = "zero"                    # zero: no points; full: the correct target still passes
    exit_code: int = 0
    limit_s: float = 60                       # wall-clock budget: the rubric's limits plus a margin
    note: str = ""                            # what the report must say, in a phrase


def steal(path_expr: str) -> str:
    """A target that returns the right answer only if it could read ``path_expr``."""
    return textwrap.dedent(f"""
        def target(x):
            import os
            try:
                for path in {path_expr}:
                    with open(path, 'rb') as handle:
                        handle.read(1)
                    return x + 1
            except Exception:
                pass
            return x
        """)


# An agent attack makes the first call return a wrong answer and then tampers, so that the calls after
# it would go to ``cheat``, which is right: any point the attacked item keeps is a tampering that worked.
CHEAT = "def cheat(x):\n    return x + 1"
FIND_AGENT = ("    g = globals()\n"
              "    name = next(k for k in g if k.startswith('__dlgrade_agent'))\n"
              "    agent = g[name]\n")


def catalog(ctx: dict) -> list[Attack]:
    port, outside, victim, secret_file = ctx["port"], ctx["outside"], ctx["victim"], ctx["secret_file"]
    return [
        # --- time -----------------------------------------------------------------------------------
        Attack("infinite_loop_cell", ["while True:\n    pass", CORRECT_TARGET], attacked="full", note="timed out"),
        Attack("infinite_loop_call", ["def target(x):\n    while True:\n        pass"], note="did not return within"),
        Attack("sleep_past_timeout", ["import time\ndef target(x):\n    time.sleep(100)\n    return x + 1"],
               note="did not return within"),
        Attack("sigterm_and_sigint_ignored", ["import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                                              "signal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(1000)",
                                              CORRECT_TARGET], attacked="full", note="timed out"),
        # --- resources --------------------------------------------------------------------------------
        Attack("fork_bomb", ["import os\ndef target(x):\n    while True:\n        try:\n            os.fork()\n"
                             "        except OSError:\n            pass"]),
        Attack("memory_bomb", ["def target(x):\n    hog = bytearray(8 * 2**30)\n    return x + 1"], note="MemoryError"),
        Attack("memory_bomb_numpy", ["def target(x):\n    return np.ones((60000, 60000)) + x + 1"], note="MemoryError"),
        Attack("memory_growth", ["def target(x):\n    hog = []\n    while True:\n        hog.append(bytearray(2**24))"]),
        Attack("disk_fill", ["def target(x):\n    n = 0\n    while True:\n"
                             "        with open(f'fill{n}.bin', 'wb') as f:\n            f.write(b'0' * 2**20 * 8)\n"
                             "        n += 1"], note="raised"),
        Attack("giant_stdout", ["import sys\ndef target(x):\n    chunk = 'x' * 2**20\n    for _ in range(1024):\n"
                                "        sys.stdout.write(chunk)\n    return x"]),
        Attack("giant_single_message", ["def target(x):\n    print('y' * (300 * 2**20))\n    return x"]),
        Attack("too_many_files", ["def target(x):\n    handles = [open(f'h{i}', 'w') for i in range(100000)]\n"
                                  "    return x + 1"], note="raised"),
        # --- exits and crashes ------------------------------------------------------------------------
        Attack("sys_exit_cell", ["import sys\nsys.exit(1)", CORRECT_TARGET], attacked="full"),
        Attack("os_exit_cell", ["import os\nos._exit(1)", CORRECT_TARGET], attacked="full", note="died"),
        Attack("kill_own_kernel", ["import os, signal\ndef target(x):\n    os.kill(os.getpid(), signal.SIGKILL)"],
               note="crashed the kernel"),
        Attack("kill_process_group", ["import os, signal\ndef target(x):\n    os.killpg(0, signal.SIGKILL)"]),
        Attack("sys_exit_in_call", ["import sys\ndef target(x):\n    sys.exit(0)"], note="SystemExit"),
        Attack("threads_left_running", ["import threading\ndef spin():\n    while True:\n        pass",
                                        "def target(x):\n    threading.Thread(target=spin, daemon=False).start()\n"
                                        "    return x"]),
        Attack("children_left_running", ["import subprocess, os\n"
                                         "subprocess.Popen(['sleep', '987654'], start_new_session=True)\n"
                                         "if os.fork() == 0:\n    os.setsid()\n    os.execvp('sleep', ['sleep', '987655'])",
                                         CORRECT_TARGET], attacked="full"),
        # --- reading what it must not see -------------------------------------------------------------
        Attack("read_reference", [steal(repr([str(REPO / "reference" / "hw3_rnn.py"),
                                              str(REPO / "reference" / "__init__.py")]))]),
        Attack("read_rubric", [steal(repr([str(HERE / "rubric.toml"), str(REPO / "rubrics" / "hw3" / "rubric.toml")]))]),
        Attack("read_other_submission", [steal(repr([str(victim)]))]),
        Attack("read_grader_files", [steal(repr([str(REPO / "grader" / "cli.py"), str(secret_file)]))]),
        Attack("read_grader_environment", ["import os, glob\ndef target(x):\n"
                                           f"    if os.environ.get('{SECRET_ENV}'):\n        return x + 1\n"
                                           "    for path in glob.glob('/proc/*/environ'):\n        try:\n"
                                           f"            if b'{SECRET_ENV}' in open(path, 'rb').read():\n"
                                           "                return x + 1\n        except OSError:\n            pass\n"
                                           "    return x"]),
        Attack("import_grader", ["def target(x):\n    import grader.rubric\n    return x + 1"], note="ModuleNotFoundError"),
        Attack("import_reference", ["def target(x):\n    from reference import hw3_rnn\n    return x + 1"],
               note="ModuleNotFoundError"),
        Attack("network_to_loopback", ["import socket\ndef target(x):\n    try:\n"
                                       f"        socket.create_connection(('127.0.0.1', {port}), timeout=1).sendall(b'hi')\n"
                                       "        return x + 1\n    except OSError:\n        return x"]),
        # --- writing where it must not ----------------------------------------------------------------
        Attack("write_home_and_outside", ["import os\ndef target(x):\n    wrote = False\n"
                                          f"    for path in [os.path.expanduser('~/.bashrc'), '/root/{MARKER}', "
                                          f"'{outside}/{MARKER}', '{REPO}/{MARKER}', '/tmp/{MARKER}']:\n"
                                          "        try:\n            open(path, 'a').write('owned')\n"
                                          # its own home and /tmp are the kernel's private tmpfs; the
                                          # suite checks afterwards that nothing reached the host's /tmp
                                          "            wrote = wrote or not path.startswith((os.path.expanduser('~'), '/tmp/'))\n"
                                          "        except OSError:\n            pass\n    return x + 1 if wrote else x"]),
        Attack("write_grader_temp_folders", ["import os, glob\ndef target(x):\n    hits = 0\n"
                                             "    for folder in glob.glob('/tmp/*') + glob.glob('/tmp/*/*'):\n"
                                             "        try:\n"
                                             f"            open(os.path.join(folder, '{MARKER}'), 'w').write('x')\n"
                                             "            hits += 1\n        except OSError:\n            pass\n"
                                             "    return x"]),
        # --- lying about results ----------------------------------------------------------------------
        Attack("monkeypatch_comparisons", ["np.allclose = lambda *a, **k: True\nnp.isclose = lambda a, b, **k: np.ones_like(a, bool)\n"
                                           "np.testing.assert_allclose = lambda *a, **k: None\nnp.array_equal = lambda *a: True",
                                           "def target(x):\n    return x * 0"]),
        Attack("ndarray_subclass", ["class Liar(np.ndarray):\n    def __eq__(self, other):\n        return True\n"
                                    "    def __array__(self, *a, **k):\n        return np.asarray(self.view(np.ndarray)) + 1",
                                    "def target(x):\n    return (x * 0).view(Liar)"]),
        Attack("object_array", ["def target(x):\n    return np.array([x + 1, 'junk'], dtype=object)"], note="cannot be graded"),
        Attack("pickle_payload", ["import pickle, os\nclass Boom:\n    def __reduce__(self):\n"
                                  "        return (os.system, ('touch /tmp/pwned',))",
                                  "def target(x):\n    return pickle.dumps(Boom())"], note="cannot be graded"),
        Attack("huge_nested_result", ["def target(x):\n    out = x + 1\n    for _ in range(5000):\n        out = [out]\n"
                                      "    return out"]),
        Attack("wide_result", ["def target(x):\n    return [float(v) for v in range(3_000_000)]"]),
        Attack("forged_agent", ["def target(x):\n    agent = globals()['__dlgrade_agent__']\n    real = agent.call\n"
                                "    def fake(text):\n        import json\n        from IPython.display import publish_display_data\n"
                                "        nonce = json.loads(text)['nonce']\n"
                                "        publish_display_data({'application/x-dlgrade-response+json': {'nonce': nonce, "
                                "'status': 'ok', 'result': {'t': 'scalar', 'v': 1.0}, 'arrays': ''}})\n"
                                "    agent.call = fake\n    return x"]),
        Attack("runtime_folder_on_the_host", ["def target(x):\n    import os\n"
                                              "    from ipykernel.connect import get_connection_file\n"
                                              "    folder = os.path.dirname(os.path.abspath(get_connection_file()))\n"
                                              "    try:\n"
                                              "        for n in range(200):\n"
                                              "            with open(os.path.join(folder, f'fill{n}'), 'wb') as out:\n"
                                              "                out.write(b'0' * 2**20)\n"
                                              "    except OSError:\n        return x\n    return x + 1"]),
        # --- the agent: every change to it stops the calls after it (integrity.py) -------------------
        Attack("agent_found_by_scan_and_wrapped", [CHEAT, "def target(x):\n" + FIND_AGENT +
                                                   "    real = agent[0]\n"
                                                   "    g[name] = (lambda text: real(text.replace('\"target\"', '\"cheat\"')),)\n"
                                                   "    return x"], note="changed the grader's helper"),
        Attack("agent_closure_cell_rebound", [CHEAT, "def target(x):\n" + FIND_AGENT +
                                              "    call = agent[0]\n"
                                              "    for cell in call.__closure__:\n"
                                              "        table = cell.cell_contents\n"
                                              "        if isinstance(table, dict) and 'call' in table:\n"
                                              "            cell.cell_contents = {**table, 'call': lambda f, a, k: g['cheat'](*a, **k)}\n"
                                              "    return x"], note="changed the grader's helper"),
        Attack("json_loads_replaced", [CHEAT, "import json\n_loads = json.loads\ndef target(x):\n"
                                       "    json.loads = lambda text, **kw: {**_loads(text), 'function': 'cheat'}\n"
                                       "    return x"], note="changed the grader's helper"),
        Attack("setprofile_replaced_in_sys", [CHEAT, "import sys\ndef target(x):\n"
                                              "    setattr(sys, 'setpro' + 'file', lambda f: None)\n"
                                              "    return x"], note="changed the grader's helper"),
        Attack("correct_once_then_wrong", ["calls = []\ndef target(x):\n    calls.append(1)\n"
                                           "    return x + 1 if len(calls) == 1 else x"], attacked="partial"),
        Attack("ansi_and_fake_report_lines", ["def target(x):\n    print('\\x1b[2J\\x1b[H\\x1b[32mattacked  1/1 passed\\x1b[0m')\n"
                                              "    raise ValueError('\\x1b[2J\\x1b]0;owned\\x07Total: 100 / 100 \\x1b[1mpassed')"],
               note="raised ValueError"),
        # --- broken or hostile zips -------------------------------------------------------------------
        Attack("zip_slip", files={"../../" + MARKER: "x", "nb.ipynb": None}, exit_code=3, note="'..'"),
        Attack("absolute_path", files={"/tmp/" + MARKER: "x", "nb.ipynb": None}, exit_code=3, note="absolute path"),
        Attack("symlink_entry", files={"link": ("symlink", "/etc/passwd"), "nb.ipynb": None}, exit_code=3,
               note="symbolic link"),
        Attack("zip_bomb", files={"zeros.bin": ("deflate", bytes(200 * 2**20)), "nb.ipynb": None}, exit_code=3,
               note="zip bomb"),
        Attack("huge_notebook", files={"big.ipynb": ("stored", b'{"cells": [], "x": "' + b"a" * (200 * 2**20) + b'"}')},
               attacked="error-all", note="MiB"),
        Attack("malformed_notebook", files={"nb.ipynb": '{"cells": [ {"cell_type": "code", "source": "x = 1"'},
               attacked="error-all", note="not valid notebook JSON"),
        Attack("foreign_kernelspec", files={"nb.ipynb": ("kernel", "ir")}, attacked="full", note="declares the kernel"),
    ]


def build_zip(path: Path, attack: Attack, cells: list[str]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        if attack.files is None:
            archive.writestr("work/attack.ipynb", notebook_text(HONEST, *cells))
            return
        for name, content in attack.files.items():
            if content is None:
                archive.writestr("work/" + name, notebook_text(HONEST, CORRECT_TARGET))
            elif isinstance(content, tuple) and content[0] == "symlink":
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, content[1])
            elif isinstance(content, tuple) and content[0] == "kernel":
                document = json.loads(notebook_text(HONEST, CORRECT_TARGET))
                document["metadata"]["kernelspec"] = {"name": content[1], "language": "R"}
                archive.writestr("work/" + name, json.dumps(document))
            elif isinstance(content, tuple):
                method = zipfile.ZIP_DEFLATED if content[0] == "deflate" else zipfile.ZIP_STORED
                archive.writestr(zipfile.ZipInfo("work/" + name), content[1], compress_type=method)
            else:
                archive.writestr(name if name.startswith(("/", "..")) else "work/" + name, content)


def snapshot(folder: Path) -> dict:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def sandbox_processes(ignore: frozenset = frozenset()) -> list[str]:
    """Processes run by a kernel uid (≥ 2**30) or named like the ones the attacks start, except the
    pids in ``ignore`` (kernels that were running before the suite: another grading, not ours)."""
    out = subprocess.run(["ps", "-eo", "pid=,uid=,args="], capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        pid, uid, args = (line.strip().split(None, 2) + ["", ""])[:3]
        if pid not in ignore and ((uid.isdigit() and int(uid) >= 2**30) or "98765" in args):
            found.append(line.strip())
    return found


@dataclass
class Graded:
    attack: Attack
    exit_code: int | None  # of `grade ZIP`; None when graded in a batch (whose own exit is checked once)
    report: dict
    elapsed_s: float
    terminal: str | None = None


def grade_each(attacks: list[Attack], zips: Path, root: Path, env: dict) -> dict[str, Graded]:
    """Cold kernels: ``grade ZIP`` once per attack, three at a time."""
    def grade_one(attack: Attack):
        path = zips / f"ATTACK_{attack.name}.zip"
        started = time.monotonic()
        done = subprocess.run([*GRADE, str(path), "--rubric", str(HERE / "rubric.toml"), "--format", "json"],
                              capture_output=True, text=True, timeout=600, env=env, cwd=root)
        terminal = None
        if attack.name == "ansi_and_fake_report_lines":
            terminal = subprocess.run([*GRADE, str(path), "--rubric", str(HERE / "rubric.toml")],
                                      capture_output=True, text=True, timeout=600, env=env, cwd=root).stdout
        assert done.stdout, done.stderr[-2000:]
        return attack.name, Graded(attack, done.returncode, json.loads(done.stdout), time.monotonic() - started,
                                   terminal)

    with ThreadPoolExecutor(3) as pool:
        return dict(pool.map(grade_one, attacks))


def grade_in_one_batch(attacks: list[Attack], zips: Path, root: Path, env: dict) -> dict[str, Graded]:
    """Warm kernels: the whole suite as one class, two at a time, every kernel forked from the zygote
    (where this machine allows it), with the victim's zip one submission among the others."""
    results = root / "results"
    done = subprocess.run([*GRADE, "batch", str(zips), "--rubric", str(HERE / "rubric.toml"), "--out", str(results),
                           "--jobs", "2", "--quiet"], capture_output=True, text=True, timeout=1200, env=env, cwd=root)
    assert done.returncode == 0, done.stderr[-2000:]
    reports = [json.loads(path.read_text()) for path in (results / "reports").glob("*.json")]
    by_file = {report["submission"]["file"]: report for report in reports}
    graded = {}
    for attack in attacks:
        report = by_file[f"ATTACK_{attack.name}.zip"]
        graded[attack.name] = Graded(attack, None, report, report.get("duration_s") or 0.0)
    return graded


@pytest.fixture(scope="module", params=["cold", "warm"])
def suite(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"attacks-{request.param}")
    outside = root / "outside"
    outside.mkdir()
    (outside / "canary.txt").write_text("untouched")
    secret_file = outside / "grader-secret.txt"
    secret_file.write_text("grader secret")
    zips = root / "zips"
    zips.mkdir()
    victim = zips / "ATTACK_victim.zip"
    with zipfile.ZipFile(victim, "w") as archive:
        archive.writestr("answers.txt", "VICTIM-SECRET")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    ctx = {"port": server.getsockname()[1], "outside": outside, "victim": victim, "secret_file": secret_file}
    attacks = catalog(ctx)
    for attack in attacks:
        build_zip(zips / f"ATTACK_{attack.name}.zip", attack, attack.cells or [])
    before = {"outside": snapshot(outside), "repo": sorted(p.name for p in REPO.iterdir()),
              "tmp": set(os.listdir("/tmp"))}
    already_running = frozenset(line.split()[0] for line in sandbox_processes())
    env = dict(os.environ, **{SECRET_ENV: "s3cret"})
    results = (grade_each if request.param == "cold" else grade_in_one_batch)(attacks, zips, root, env)
    try:
        connection = server.accept()
        connected = True
        connection[0].close()
    except BlockingIOError:
        connected = False
    server.close()
    time.sleep(0.5)
    after = {"outside": snapshot(outside), "repo": sorted(p.name for p in REPO.iterdir()),
             "tmp": set(os.listdir("/tmp"))}
    left = sandbox_processes(already_running)
    if left:  # a kernel may still be going down: give it a moment before calling it a leak
        time.sleep(5)
        left = sandbox_processes(already_running)
    return {"results": results, "before": before, "after": after, "connected": connected, "processes": left,
            "mode": request.param}


ATTACK_NAMES = [a.name for a in catalog({"port": 1, "outside": Path("/x"), "victim": Path("/x"),
                                         "secret_file": Path("/x")})]


def test_the_suite_has_at_least_thirty_attacks():
    assert len(ATTACK_NAMES) >= 30


@pytest.mark.parametrize("name", ATTACK_NAMES)
def test_attack(suite, name):
    graded = suite["results"][name]
    attack, report, terminal = graded.attack, graded.report, graded.terminal
    if graded.exit_code is not None:
        assert graded.exit_code == attack.exit_code, report.get("error")
    items = {item["id"]: item for item in report["items"]}
    assert graded.elapsed_s < attack.limit_s, f"took {graded.elapsed_s:.0f} s"
    if attack.exit_code == 3:
        assert all(item["status"] == "error" and item["score"] == 0 for item in items.values())
        assert attack.note in report["error"]
        return
    assert report["sandbox"]["isolation"] == "bubblewrap", report["sandbox"]
    if suite["mode"] == "warm" and report["sandbox"]["unprivileged_user"]:  # root: the zygote was usable
        assert report["sandbox"]["warm_kernels"] is True
    if attack.attacked == "error-all":
        assert all(item["score"] == 0 for item in items.values())
        assert attack.note in report["notebooks"][0]["problem"]
        return
    honest = items["honest"]
    assert (honest["status"], honest["score"]) == ("passed", 1), honest["feedback"]
    attacked = items["attacked"]
    expected = {"zero": lambda s: s == 0, "full": lambda s: s == 1, "partial": lambda s: 0 < s < 1}[attack.attacked]
    assert expected(attacked["score"]), f"{attacked['status']}: {attacked['feedback']}"
    if attack.note:
        text = " ".join([attacked["feedback"], *(e["error"] for n in report["notebooks"] for e in n["errors"]),
                         *report["warnings"]])
        assert attack.note in text, text
    if terminal is not None:  # the terminal report shows hostile text inert
        assert "\x1b[2J" not in terminal and "\x1b]0;" not in terminal and "\x07" not in terminal
        assert "Total: 1 / 2" in terminal


def test_nothing_outside_the_workspaces_changed(suite):
    before, after = suite["before"], suite["after"]
    assert after["outside"] == before["outside"]
    assert after["repo"] == before["repo"]
    assert not [name for name in after["tmp"] - before["tmp"] if MARKER in name or name == "pwned"]
    assert not Path("/root", MARKER).exists() and not Path("/tmp/pwned").exists()


def test_no_network_connection_reached_the_test_server(suite):
    assert suite["connected"] is False


def test_no_process_of_any_submission_is_left(suite):
    assert suite["processes"] == []


# === The grader's side of the boundary ===============================================================
# Attacks on what the grader believes (a module's weights, the run-time trace, the agent, the times in a
# zip, the names on it) and on what it spends (memory, time, disk, report size).  Each is graded through
# the real CLI and verified outside the report: the grader's own peak memory read from /proc while it
# runs, the wall clock, junit.xml and gradebook.csv read back with their parsers, files on disk.

GRADER_SIDE = HERE / "grader_side.toml"
SIDE_CELLS = {
    "imports": "import numpy as np\nimport torch\nimport torch.nn as nn",
    "double": "def double(x):\n    return 2 * x",
    "net": ("class Net(nn.Module):\n    def __init__(self, d):\n        super().__init__()\n"
            "        self.fc = nn.Linear(d, d)\n\n    def forward(self, x):\n        return self.fc(x)"),
    "attend": "def attend(q, k, v):\n    return torch.softmax(q @ k.T / 2, dim=-1) @ v",
}
SIDE_ANSWERS = "## grad\nW @ x\n"
SDPA = "getattr(torch.nn.functional, 'scaled_dot_' + 'product_attention')(q[None], k[None], v[None])[0]"


@dataclass
class SideAttack:
    name: str
    cells: dict = None            # cells of the honest notebook replaced or added ("extra")
    answers: str = SIDE_ANSWERS
    expect: dict = None           # item -> "full" | "zero" | "not full"; the others must stay full
    note: str = ""                # what the report says, in a phrase
    grader_mib: float = 250       # the grader's own peak memory above the honest submission's
    limit_s: float = 90


def side_catalog() -> list[SideAttack]:
    flood = ("from IPython.display import publish_display_data\n"
             "def flood():\n    junk = 'x' * 8 * 2**20\n    for n in range(60):\n"
             "        publish_display_data({'application/x-dlgrade-response+json': {'nonce': 'n%d' % n, 'junk': junk}})")
    stall = ("import json, sys, time\nfrom IPython.display import publish_display_data\n"
             "def attend(q, k, v):\n    while True:\n        frame, mine = sys._getframe(1), []\n"
             "        while frame is not None:\n            mine += [json.loads(t)['nonce'] for t in frame.f_locals.values()\n"
             "                     if isinstance(t, str) and t.startswith('{\"function\"')]\n            frame = frame.f_back\n"
             "        for nonce in mine + ['made-up']:\n"
             "            publish_display_data({'application/x-dlgrade-response+json': {'nonce': nonce, 'status': 'ok'}})\n"
             "        time.sleep(0.3)")
    return [
        # --- false credit: the module's weights are the grader's ------------------------------------
        SideAttack("module_zeroes_its_own_weights", {"net": SIDE_CELLS["net"].replace(
            "        self.fc = nn.Linear(d, d)", "        self.fc = nn.Linear(d, d)\n        nn.init.zeros_(self.fc.weight)\n"
            "        nn.init.zeros_(self.fc.bias)").replace("return self.fc(x)", "return torch.zeros_like(x)")},
            expect={"linear": "zero"}, note="values wrong"),
        SideAttack("module_overwrites_the_weights_it_is_given", {"net": SIDE_CELLS["net"].replace(
            "        return self.fc(x)", "        with torch.no_grad():\n            self.fc.weight.zero_()\n"
            "            self.fc.bias.zero_()\n        return self.fc(x)")}, expect={"linear": "zero"}),
        SideAttack("module_returns_its_input", {"net": SIDE_CELLS["net"].replace("return self.fc(x)", "return x")},
                   expect={"linear": "not full"}, note="values wrong"),
        SideAttack("module_uses_weights_of_its_own", {"net": SIDE_CELLS["net"].replace(
            "return self.fc(x)", "return x @ torch.ones(4, 4) + 1")}, expect={"linear": "not full"}),
        # --- false credit: a forbidden API hidden from the trace ----------------------------------------
        SideAttack("sdpa_in_a_thread", {"attend": "import threading\ndef attend(q, k, v):\n    out = []\n"
                                                  f"    t = threading.Thread(target=lambda: out.append({SDPA}))\n"
                                                  "    t.start(); t.join()\n    return out[0]"},
                   expect={"attend": "zero"}, note="scaled_dot_product_attention"),
        SideAttack("sdpa_through_torch_ops_aten", {"attend": "def attend(q, k, v):\n    op = getattr(torch.ops.aten, "
                                                             "'scaled_dot_product_' + 'attention')\n"
                                                             "    return op(q[None], k[None], v[None])[0]"},
                   expect={"attend": "zero"}),
        SideAttack("sdpa_through_torch_C", {"attend": "def attend(q, k, v):\n    op = getattr(torch._C._nn, "
                                                      "'scaled_dot_product_' + 'attention')\n"
                                                      "    return op(q[None], k[None], v[None])[0]"},
                   expect={"attend": "zero"}),
        SideAttack("sdpa_in_a_pool_started_before_the_call", {
            "attend": "from concurrent.futures import ThreadPoolExecutor\npool = ThreadPoolExecutor(1)\n"
                      "pool.submit(lambda: None).result()\n"
                      f"def attend(q, k, v):\n    return pool.submit(lambda: {SDPA}).result()"},
            expect={"attend": "zero"}, note="waited on a thread that was running before it"),
        SideAttack("sdpa_in_a_raw_thread", {"attend": "import _thread, time\ndef attend(q, k, v):\n    out = []\n"
                                                      f"    _thread.start_new_thread(lambda: out.append({SDPA}), ())\n"
                                                      "    while not out:\n        time.sleep(0.01)\n    return out[0]"},
                   expect={"attend": "zero"}, note="could not follow"),
        SideAttack("sdpa_in_a_forked_process", {"attend": "import os, pickle\ndef attend(q, k, v):\n    r, w = os.pipe()\n"
                                                          "    if os.fork() == 0:\n"
                                                          f"        os.write(w, pickle.dumps({SDPA}.numpy()))\n        os._exit(0)\n"
                                                          "    os.close(w)\n    data = b''\n    while True:\n"
                                                          "        chunk = os.read(r, 65536)\n        if not chunk:\n            break\n"
                                                          "        data += chunk\n    return torch.from_numpy(pickle.loads(data))"},
                   expect={"attend": "zero"}, note="a process started by the call"),
        SideAttack("sdpa_after_flooding_the_trace", {"attend": "ns = {}\nexec('\\n'.join(f'def f{i}(): pass' for i in range(21000)), ns)\n"
                                                               "fs = [ns[f'f{i}'] for i in range(21000)]\n"
                                                               f"def attend(q, k, v):\n    for f in fs:\n        f()\n    return {SDPA}"},
                   expect={"attend": "zero"}),
        SideAttack("sdpa_with_the_profiler_switched_off", {"attend": "import sys\ndef attend(q, k, v):\n"
                                                                     "    getattr(sys, 'setpro' + 'file')(None)\n"
                                                                     f"    return {SDPA}"},
                   expect={"attend": "zero"}),
        # --- the grader's resources ---------------------------------------------------------------------
        SideAttack("responses_imitated_by_the_hundred_megabyte", {
            "double": flood + "\ndef double(x):\n    flood()\n    return 2 * x"}, grader_mib=150),
        SideAttack("a_stalled_call_sends_fake_responses", {"attend": stall}, expect={"attend": "zero"}, limit_s=60),
        SideAttack("every_call_kills_the_kernel_after_a_slow_notebook", {
            "extra": "import time\ntime.sleep(2.5)", "attend": "import os\ndef attend(q, k, v):\n    os._exit(1)"},
            expect={"attend": "zero"}, limit_s=75),
        SideAttack("theory_answer_of_a_trillion_numbers", answers="## grad\nouter(outer(W, W), outer(W, W))\n",
                   expect={"grad": "zero"}, note="too large to evaluate", grader_mib=150),
        SideAttack("theory_answer_that_takes_minutes", answers="## grad\n" + "W @ W @ W @ W @ W @ x + " * 40 + "x\n",
                   expect={"grad": "zero"}, limit_s=60),
        SideAttack("answers_file_of_200000_questions", answers=SIDE_ANSWERS + "".join(f"## q{i}\n1\n" for i in range(200000)),
                   note="more"),
        # --- what people and programs read --------------------------------------------------------------
        SideAttack("xml_forbidden_characters_and_bidi_in_feedback", {
            "attend": "def attend(q, k, v):\n    raise ValueError('\\uffff\\u202egnirts\\x1b[2J\\x00 done')"},
            expect={"attend": "zero"}, note="U+202E"),
    ]


def side_zip(path: Path, attack: SideAttack) -> Path:
    cells = {**SIDE_CELLS, **(attack.cells or {})}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("work.ipynb", notebook_text(*(cells[k] for k in ("imports", "extra", "double", "net", "attend")
                                                       if k in cells)))
        archive.writestr("answers.md", attack.answers)
    return path


def grade_watched(path: Path, out: Path) -> tuple[int, float, float]:
    """``grade ZIP --format junit --out OUT``: (exit status, seconds, the grader's own peak memory in MiB,
    read from /proc while it runs; its kernels are other processes)."""
    started = time.monotonic()
    process = subprocess.Popen([*GRADE, str(path), "--rubric", str(GRADER_SIDE), "--format", "junit", "--out", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while process.poll() is None:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
            peak = max(peak, int(status.split("VmHWM:")[1].split()[0]) / 1024)
        except (OSError, IndexError, ValueError):
            pass
        time.sleep(0.05)
    process.communicate(timeout=60)
    return process.returncode, time.monotonic() - started, peak


@pytest.fixture(scope="module")
def side(tmp_path_factory):
    root = tmp_path_factory.mktemp("grader-side")
    attacks = [SideAttack("honest")] + side_catalog()

    def one(attack):
        out = root / attack.name
        return attack.name, (attack, *grade_watched(side_zip(root / f"GS_{attack.name}.zip", attack), out), out)
    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(one, attacks))


SIDE_NAMES = [a.name for a in side_catalog()]


@pytest.mark.parametrize("name", SIDE_NAMES)
def test_grader_side_attack(side, name):
    import xml.etree.ElementTree as ElementTree

    attack, code, elapsed, peak, out = side[name]
    honest_peak = side["honest"][3]
    report = json.loads((out / "report.json").read_text())
    assert code == 0 and not report.get("error"), report.get("error")
    assert elapsed < attack.limit_s, f"took {elapsed:.0f} s"
    assert peak - honest_peak < attack.grader_mib, f"the grader peaked {peak - honest_peak:.0f} MiB above an honest run"
    assert (out / "report.json").stat().st_size < 300_000
    cases = {case.get("name"): case for case in ElementTree.parse(out / "junit.xml").getroot().iter("testcase")}
    scores = {item["id"]: item["score"] / item["points"] for item in report["items"]}
    expect = {item: "full" for item in scores} | (attack.expect or {})
    for item, outcome in expect.items():
        failed = any(cases[c].find(tag) is not None for c in cases if item in c for tag in ("failure", "error"))
        if outcome == "full":
            assert scores[item] == 1 and not failed, f"{item}: {report['items']}"
        else:
            assert (scores[item] == 0 if outcome == "zero" else scores[item] < 1) and failed, f"{item}: {scores[item]}"
    junit = (out / "junit.xml").read_text(encoding="utf-8")
    assert "\u202e" not in junit and "\uffff" not in junit  # shown as code points; and it parsed above
    if attack.note:
        assert attack.note in json.dumps(report, ensure_ascii=False) + junit, attack.note


CLASS_ATTACKS = ["backdated_zip_entries_do_not_make_an_upload_on_time", "an_impostor_upload_from_another_folder",
                 "keys_that_normalise_alike", "a_formula_as_a_file_name"]


@pytest.fixture(scope="module")
def class_batch(tmp_path_factory):
    """One class through ``grade batch`` with a late policy and no platform times; read back from
    gradebook.csv with the csv module and from the report files on disk."""
    root = tmp_path_factory.mktemp("class-attacks")
    honest = side_zip(root / "honest.zip", SideAttack("honest"))
    folder = root / "class"
    restamped_zip(honest, folder / "GS_Late_Student_9001.zip", 1980)
    restamped_zip(honest, folder / "Sara Ahmadi_1_assignsubmission_file_" / "GS_Sara_Ahmadi_9002.zip", 2025)
    restamped_zip(honest, folder / "Eve Mallory_2_assignsubmission_file_" / "GS_Sara_Ahmadi_9002.zip", 2026)
    for name in ("Alice Smith.zip", "Alice_Smith.zip", "=HYPERLINK(1).zip"):
        restamped_zip(honest, folder / name, 2025)
    rubric = root / "rubric.toml"
    rubric.write_text(GRADER_SIDE.read_text() + '\n[late]\ndeadline = "2025-06-01T00:00:00+00:00"\npenalty_per_day = 50\n')
    shutil.copy(HERE / "refs.py", root / "refs.py")
    results = root / "results"
    done = subprocess.run([*GRADE, "batch", str(folder), "--rubric", str(rubric), "--out", str(results), "--jobs", "2"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with open(results / "gradebook.csv", newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    return {"rows": rows, "results": results, "console": " ".join((done.stdout + done.stderr).split())}


@pytest.mark.parametrize("name", CLASS_ATTACKS)
def test_class_attack(class_batch, name):
    rows = {row["student_key"]: row for row in class_batch["rows"]}
    reports = class_batch["results"] / "reports"
    if name == "backdated_zip_entries_do_not_make_an_upload_on_time":
        row = rows["9001"]
        assert row["late_days"] == "not assessed" and row["final"] == row["auto_total"], row
        assert "late policy" in class_batch["console"]
    elif name == "an_impostor_upload_from_another_folder":
        assert rows["9002"]["status"] == "identity to confirm"
        report = json.loads((reports / "9002.json").read_text())
        assert any("Eve Mallory" in conflict for conflict in report["identity_conflicts"])
    elif name == "keys_that_normalise_alike":
        files = {path.name for path in reports.glob("Alice*.json")}
        assert len(files) == 2 and {"Alice Smith", "Alice_Smith"} <= set(rows)
        assert {json.loads((reports / f).read_text())["submission"]["file"] for f in files} == {"Alice Smith.zip",
                                                                                                "Alice_Smith.zip"}
    else:
        formula = next(row for key, row in rows.items() if "HYPERLINK" in key)
        assert all(not value.startswith(("=", "+", "-", "@")) for value in formula.values()), formula


def test_similar_compares_what_grading_scores(tmp_path):
    """A copy padded past 16 MiB and a copy behind 250 empty files are found; what is not compared is listed."""
    honest = side_zip(tmp_path / "honest.zip", SideAttack("honest", cells={
        "attend": SIDE_CELLS["attend"] + "\n\n" + "\n".join(f"def helper_{i}(a, b):\n    return (a @ b.T).sum() * {i} - a.mean()"
                                                            for i in range(30))}))
    notebook_json = zipfile.ZipFile(honest).read("work.ipynb")
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(honest, folder / "GS_Orig_A_1.zip")
    padded = json.loads(notebook_json)
    padded["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "x" * (20 * 2**20)})
    with zipfile.ZipFile(folder / "GS_Padded_B_2.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("work.ipynb", json.dumps(padded))
    with zipfile.ZipFile(folder / "GS_Buried_C_3.zip", "w") as archive:
        for n in range(250):
            archive.writestr(f"aaa/empty_{n:03d}.py", "")
        archive.writestr("zzz/work.ipynb", notebook_json)
    done = subprocess.run([*GRADE, "similar", str(folder), "--rubric", str(GRADER_SIDE), "--format", "json", "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    pairs = {frozenset({p["a"]["key"], p["b"]["key"]}): p["score"] for p in found["pairs"]}
    assert pairs[frozenset({"1", "2"})] > 0.9 and pairs[frozenset({"1", "3"})] > 0.9, pairs
    assert any("more code files" in s for entry in found["not_compared"] for s in entry["skipped"])
