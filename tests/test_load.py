"""The same verdicts on a busy machine: a class graded beside eight busy-looping processes (each in a
session of its own, so each takes a full share of the CPU from the kernels) gets exactly the scores it
gets on a quiet machine, with a call limit tight enough that wall-clock deadlines lose correct work
(bench/bench_load.py measured 3 of 12 students losing points that way).  An endless loop is still
stopped under load."""
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from grader.execution import sandbox
from grader.execution.kernel import KernelSession
from grader.execution.limits import Limits

from helpers import EXAMPLES, GRADE, REPO

pytestmark = pytest.mark.e2e

CLASS = ["HW3_Sara_Ahmadi_401234567.zip", "HW3_Ali_Rezaei_401234568.zip", "HW3_Reza_Karimi_401234570.zip"]
CALL_TIMEOUT = "0.1"  # Sara's calls take 10-40 ms on a quiet machine, several times that beside the hogs
HOGS = 8


def _batch(classroom, results):
    done = subprocess.run([*GRADE, "batch", str(classroom), "-r", "hw3", "-o", str(results), "-j", "2", "-q",
                           "--call-timeout", CALL_TIMEOUT, "--cell-timeout", "20"],
                          capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    return {path.stem: {item["id"]: (item["score"], item["status"]) for item in json.loads(path.read_text())["items"]}
            for path in (results / "reports").glob("*.json")}


def test_a_class_gets_the_same_scores_beside_a_cpu_hog(tmp_path):
    classroom = tmp_path / "class"
    classroom.mkdir()
    for name in CLASS:
        shutil.copy(EXAMPLES / name, classroom)
    quiet = _batch(classroom, tmp_path / "quiet")
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True) for _ in range(HOGS)]
    try:
        time.sleep(0.5)
        with open("/proc/loadavg") as load:
            busy_load = load.read().split()[0]
        loaded = _batch(classroom, tmp_path / "loaded")
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert loaded == quiet, f"load average {busy_load}"
    assert all(status == "passed" for _, status in quiet["401234567"].values())  # Sara: every call in time
    reza = quiet["401234570"]
    assert reza["p1.lstm_forward"] == (0, "error")  # his endless loop is still stopped, loaded or not


@pytest.mark.parametrize("mode", ["auto", "off"])
def test_the_kernels_clock_finds_its_kernel_and_still_stops_a_sleep_and_a_loop_at_the_limit(tmp_path, mode):
    with KernelSession(tmp_path, protections=sandbox.protections_for(mode, Limits())) as session:
        pid = session.clock.pid
        assert pid is not None
        if session.protections.unprivileged_user:
            assert os.stat(f"/proc/{pid}").st_uid == session.uid
        assert session.execute("import os\nos.getpid()", 5).ok
        for endless in ("import time\ntime.sleep(60)", "while True:\n    pass"):
            started = time.monotonic()
            outcome = session.execute(endless, 1)
            assert outcome.status == "timeout" and time.monotonic() - started < 4, endless
