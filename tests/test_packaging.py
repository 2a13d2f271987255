"""What a student installs and what a TA installs.  The engine's wheel (the root project) holds no
solution, no reference code and no accepted answer of the bundled homeworks, and `grade check` works from
it with a bundle; the course content's wheel (courses/) holds the rubrics, their solutions and the
references, so ``--rubric hw3`` works from an installed package and not only from a checkout."""
import json
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from grader import rubric as rubric_module
from helpers import EXAMPLES, REPO


def build(project, folder):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(folder),
                    str(project)], check=True, capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    """Built from a copy of the sources: a build folder left in a checkout must not leak into the wheel."""
    import shutil

    source = tmp_path_factory.mktemp("source") / "dlgrade"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", ".git", "__pycache__",
                                                                "tests", "submissions_example"))
    folder = tmp_path_factory.mktemp("wheels")
    build(source, folder)
    build(source / "courses", folder)
    (engine,) = folder.glob("dlgrade-*.whl")
    (courses,) = folder.glob("dlgrade_courses-*.whl")
    return engine, courses


def accepted_answers() -> set[str]:
    """The bundled rubrics' answers as they could appear in a file: each accepted number of four digits or
    more (plain and grouped by threes), each accepted expression, each solution's and answers file's lines."""
    found = set()
    for rubric_id in rubric_module.bundled_rubric_ids():
        rubric = rubric_module.load(rubric_id)
        for item in rubric.items:
            config = item.config if isinstance(item.config, dict) else {}
            for entry in config.get("accepted", []):
                value = entry.get("value")
                if value is not None:
                    for number in np.ravel(value):
                        if float(number).is_integer() and abs(number) >= 1000:
                            found |= {f"{int(number)}", f"{int(number):,}"}
                if isinstance(entry.get("reference"), str) and len(entry["reference"]) >= 12:
                    found.add(entry["reference"])
        if rubric.answers_solution is not None:
            found |= {line.strip() for line in rubric.answers_solution.read_text(encoding="utf-8").splitlines()
                      if len(line.strip()) >= 12 and not line.startswith(("#", ">"))}
    return found


def test_the_engine_holds_no_solution_reference_or_accepted_answer(wheels):
    engine, _ = wheels
    archive = zipfile.ZipFile(engine)
    names = archive.namelist()
    assert "grader/cli.py" in names and "grader/execution/agent_source.py" in names
    assert not [n for n in names if n.startswith(("reference/", "rubrics/", "tests/", "submissions_example/"))]
    assert not [n for n in names if re.search(r"solution|\.ipynb$", n)]
    text = "\n".join(archive.read(name).decode("utf-8", errors="replace") for name in names)
    answers = accepted_answers()
    assert len(answers) > 50
    leaked = sorted(answer for answer in answers if answer in text)
    assert not leaked, leaked[:10]


def test_the_course_content_holds_the_rubrics_solutions_and_references(wheels):
    _, courses = wheels
    names = set(zipfile.ZipFile(courses).namelist())
    for required in ("rubrics/hw3/rubric.toml", "rubrics/hw3/template/P1_RNN_LSTM.ipynb",
                     "rubrics/hw3/template/rnn_utils.py", "rubrics/hw3/solution/P1_RNN_LSTM.ipynb",
                     "rubrics/hw3-theory/examples/answers_correct.md", "reference/hw3_rnn.py",
                     "rubrics/cs231n-rnn/solution/cs231n/rnn_layers.py", "reference/cs231n_rnn.py"):
        assert required in names, required
    assert not any(name.startswith(("grader/", "tests/")) for name in names)


@pytest.mark.e2e
def test_grade_check_works_from_the_engine_alone(wheels, tmp_path):
    """The student's installation: the engine's wheel, unpacked, with the course content out of reach."""
    engine, _ = wheels
    site = tmp_path / "site"
    zipfile.ZipFile(engine).extractall(site)
    bundle = tmp_path / "hw3-bundle"
    subprocess.run([sys.executable, "-m", "grader", "export-student", "hw3", "--out", str(bundle)], check=True,
                   capture_output=True, timeout=300)
    with zipfile.ZipFile(EXAMPLES / "HW3_Sara_Ahmadi_401234567.zip") as archive:
        name = next(n for n in archive.namelist() if n.endswith(".ipynb"))
        archive.extract(name, tmp_path / "sara")
    probe = ("import sys\n"
             f"sys.path.insert(0, {str(site)!r})\n"
             "class Block:\n"
             "    def find_spec(self, name, path=None, target=None):\n"
             "        if name.split('.')[0] in ('reference', 'rubrics'):\n"
             "            raise ModuleNotFoundError('not installed: ' + name)\n"
             "sys.meta_path.insert(0, Block())\n"
             "import grader\n"
             f"assert grader.__file__.startswith({str(site)!r}), grader.__file__\n"
             "from grader.cli import main\n"
             f"sys.argv = ['grade', 'check', {str(tmp_path / 'sara' / name)!r}, '--bundle', {str(bundle)!r}, "
             "'--format', 'json']\n"
             "main()\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["total"]["score"] == 20
    # and the engine alone says where the bundled homeworks come from
    missing = subprocess.run([sys.executable, "-c", probe.split("import grader\n")[0] + "from grader.cli import main\n"
                              "sys.argv = ['grade', 'validate', 'hw3']\nmain()\n"], capture_output=True, text=True,
                             cwd=tmp_path, timeout=120)
    assert missing.returncode == 2 and "pip install dlgrade-courses" in missing.stderr
