"""The sandbox works wherever the grader's Python is installed: a venv under /tmp or /var/tmp (covered by
the kernel's own scratch tmpfs), in a home directory, in a path with a space.  Each layout grades Ali
through the real CLI with the sandbox required, cold and warm."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from helpers import EXAMPLES, REPO

pytestmark = pytest.mark.e2e

ALI = EXAMPLES / "HW3_Ali_Rezaei_401234568.zip"
LAYOUTS = {
    "tmp": "/tmp",
    "var-tmp": "/var/tmp",
    "home": str(Path.home()),
    "space-in-path": "/tmp/course env",
}


def _venv(parent: str) -> Path:
    """A venv that sees the installed dlgrade and torch: what a TA's quick setup makes, without a copy of
    torch in every layout."""
    os.makedirs(parent, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="dlgrade-layout-", dir=parent))
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(home / "venv")],
                   check=True, timeout=120)
    return home


@pytest.fixture(params=sorted(LAYOUTS), scope="module")
def venv_python(request):
    home = _venv(LAYOUTS[request.param])
    yield home / "venv" / "bin" / "python"
    shutil.rmtree(home, ignore_errors=True)


def _require_sandbox(python: Path):
    probe = subprocess.run([str(python), "-c", "from grader.execution import sandbox; "
                            "print(sandbox.available().isolation)"], capture_output=True, text=True, timeout=60)
    if probe.stdout.strip() != "bubblewrap":
        pytest.skip(f"bubblewrap cannot run on this machine: {probe.stdout} {probe.stderr[-300:]}")


def test_a_venv_in_each_layout_grades_ali_in_the_sandbox(venv_python):
    _require_sandbox(venv_python)
    done = subprocess.run([str(venv_python), "-m", "grader", str(ALI), "--sandbox", "require", "--format", "json"],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["sandbox"]["isolation"] == "bubblewrap" and report["sandbox"]["filesystem"]
    assert report["total"]["score"] == 14.5, [(i["id"], i["feedback"]) for i in report["items"] if i["score"] < i["points"]]


def test_a_warm_batch_from_a_venv_under_tmp_grades_and_the_venv_stays_read_only(tmp_path):
    home = _venv("/tmp")
    try:
        python = home / "venv" / "bin" / "python"
        _require_sandbox(python)
        if os.geteuid() != 0:
            pytest.skip("warm kernels need root")
        venv = str(home / "venv")
        site_packages = next((home / "venv" / "lib").glob("python3*/site-packages"))
        (site_packages / "layout_probe.py").write_text("WHERE = 'the venv'\n")
        probe = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{
            "cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source":
            "import os, sys\n"
            "def rnn_cell_forward(*a):\n"
            "    open('/tmp/scratch', 'w').write('the kernel writes its own /tmp')\n"
            "    try:\n"
            f"        open({venv!r} + '/planted', 'w')\n"
            "        writable = True\n"
            "    except OSError:\n"
            "        writable = False\n"
            "    import layout_probe  # installed in the venv itself: its packages are importable\n"
            "    raise RuntimeError(f'venv writable={writable} prefix={sys.prefix} from {layout_probe.WHERE}')"}]})
        classroom = tmp_path / "class"
        classroom.mkdir()
        shutil.copy(ALI, classroom)
        with zipfile.ZipFile(classroom / "HW3_Probe_Student_401234000.zip", "w") as archive:
            archive.writestr("P1_RNN_LSTM.ipynb", probe)
        done = subprocess.run([str(python), "-m", "grader", "batch", str(classroom), "-r", "hw3", "-o",
                               str(tmp_path / "results"), "-j", "2"], capture_output=True, text=True, timeout=300,
                              cwd=REPO)
        assert done.returncode == 0, done.stderr[-2000:]
        ali = json.loads((tmp_path / "results" / "reports" / "401234568.json").read_text())
        assert ali["sandbox"]["warm_kernels"] and ali["total"]["score"] == 14.5
        probed = json.loads((tmp_path / "results" / "reports" / "401234000.json").read_text())
        feedback = {item["id"]: item["feedback"] for item in probed["items"]}["p1.rnn_cell_forward"]
        assert f"venv writable=False prefix={venv} from the venv" in feedback, feedback
        assert not os.path.exists(venv + "/planted")
    finally:
        shutil.rmtree(home, ignore_errors=True)
