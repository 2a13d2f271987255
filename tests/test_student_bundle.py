"""The student bundle: what `grade export-student` writes, that it leaks nothing a student may not
have, and that `grade check` and `check()` in a notebook grade the public items with it."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from grader import rubric as rubric_module
from grader.checks.cases import make_cases
from grader.execution.cells import cell_source
from grader.execution.runner import read_notebook_cells
from grader.checks.function import FunctionCheck
from grader.checks.base import CheckContext
from grader.student import check
from grader.student.bundle import load_bundle
from grader.student.export import export_bundle
from helpers import EXAMPLES, GRADE, REPO

# fields that hold answers, references or solutions in a TA's rubric: none may reach a bundle
SECRET_FIELDS = {"reference", "accepted", "correct", "value", "forward", "parameters", "validate", "solution",
                 "template", "reference_args", "labels", "expected", "guidance"}


def bundle_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*")) if p.suffix in (".json", ".toml"))


def bundle_arrays(folder: Path) -> list[np.ndarray]:
    arrays = []
    for file in folder.rglob("*.npz"):
        with np.load(file, allow_pickle=False) as npz:
            arrays += [npz[key] for key in npz.files]
    return arrays


def solution_only_lines(rubric) -> set[str]:
    """Code lines of the solution notebooks that the template does not have: the answers."""
    def lines(path):
        if path is None:
            return set()
        text = "\n".join(cell_source(c) for c in read_notebook_cells(path) if c["cell_type"] == "code")
        return {line.strip() for line in text.splitlines() if len(line.strip()) > 25}
    found = set()
    for notebook in rubric.notebooks.values():
        found |= lines(notebook.solution) - lines(notebook.template)
    return found


@pytest.mark.parametrize("rubric_id", rubric_module.bundled_rubric_ids())
def test_bundle_holds_no_reference_hidden_or_graded_material(rubric_id, tmp_path):
    rubric = rubric_module.load(rubric_id)
    export = export_bundle(rubric, tmp_path / "bundle")
    folder = export.folder
    text = bundle_text(folder)
    # no reference code, and no name of it
    assert not list(folder.rglob("*.py")) or all(p.parent.name == "starter" for p in folder.rglob("*.py"))
    for starter in folder.glob("starter/*"):
        copies = [s for n in rubric.notebooks.values() for s in n.starter_files if s.name == starter.name]
        assert copies and starter.read_bytes() == copies[0].read_bytes()  # what students already have
    assert not re.search(r"\breference\.\w+", text), "a bundle names reference code"
    assert not re.search(r"\.py:\w+", text)
    # no field that holds an answer, in any item
    bundle_rubric = __import__("tomllib").loads((folder / "rubric.toml").read_text(encoding="utf-8"))
    for table in bundle_rubric["items"]:
        assert not SECRET_FIELDS & set(table), (table["id"], SECRET_FIELDS & set(table))
    # the answers table says where the file is and how the question names its symbols, nothing more
    assert "answers" not in bundle_rubric or set(bundle_rubric["answers"]) <= {"match", "notation"}
    assert "solution" not in bundle_rubric.get("answers", {})
    # no line of the solution's own code
    for line in solution_only_lines(rubric):
        assert line not in text
    # no expected value (or input) of a graded case: the bundle's cases come from other seeds
    stored = bundle_arrays(folder)
    context = lambda item: CheckContext(rubric, item, None)  # noqa: E731
    for item in rubric.items:
        if item.kind != "function":
            continue
        for case in make_cases(rubric.id, item.id, item.config.generator, item.config.cases):
            graded = FunctionCheck._expected(context(item), case)
            for value in (graded.values() if isinstance(graded, dict) else [graded]):
                value = np.asarray(value)
                assert not any(a.shape == value.shape and np.array_equal(a, value) for a in stored), item.id
    # the bundle is honest about what it leaves out
    meta = json.loads((folder / "bundle.json").read_text(encoding="utf-8"))
    listed = {e["id"] for e in meta["checked"]} | {e["id"] for e in meta["upload_only"]}
    assert listed == {item.id for item in rubric.items}


def test_hidden_items_never_reach_the_bundle(tmp_path):
    source = Path(rubric_module.locate("hw3")).parent
    copy = tmp_path / "hw3"
    shutil.copytree(source, copy)
    text = (copy / "rubric.toml").read_text(encoding="utf-8")
    text = text.replace('id = "p1.lstm_backward"\ntitle = "LSTM through time, backward"',
                        'id = "p1.secret_lstm_backward"\ntitle = "Secret sequence test"\nvisibility = "hidden"')
    assert "secret_lstm_backward" in text
    (copy / "rubric.toml").write_text(text, encoding="utf-8")
    export = export_bundle(rubric_module.load(copy), tmp_path / "bundle")
    everything = "\n".join(p.read_bytes().decode("latin-1") for p in export.folder.rglob("*") if p.is_file())
    assert "secret" not in everything.lower() and "Secret sequence test" not in everything
    assert export.hidden_items == 1 and export.hidden_points == 3
    notice = load_bundle(export.folder).notice()
    assert "1 of them hidden tests" in notice and "not the same as full marks" in notice


@pytest.fixture(scope="module")
def hw3_bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "hw3-bundle"
    result = subprocess.run([*GRADE, "export-student", "hw3", "--out", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "p1.lstm_cell_backward" in result.stdout and "grade check" in result.stdout
    return out


def _notebook_of(zip_path: Path, folder: Path) -> Path:
    with zipfile.ZipFile(zip_path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".ipynb"))
        archive.extract(name, folder)
    return folder / name


@pytest.mark.e2e
def test_grade_check_passes_a_correct_notebook_and_names_a_wrong_gradient(hw3_bundle, tmp_path):
    sara = _notebook_of(EXAMPLES / "HW3_Sara_Ahmadi_401234567.zip", tmp_path / "sara")
    ali = _notebook_of(EXAMPLES / "HW3_Ali_Rezaei_401234568.zip", tmp_path / "ali")
    good = subprocess.run([*GRADE, "check", str(sara), "--bundle", str(hw3_bundle), "--format", "json"],
                          capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    report = json.loads(good.stdout)
    assert report["total"]["score"] == report["total"]["max"] == 20
    assert "not the same as full marks" in report["warnings"][0]
    bad = json.loads(subprocess.run([*GRADE, "check", str(ali), "--bundle", str(hw3_bundle), "--format", "json"],
                                    capture_output=True, text=True).stdout)
    items = {item["id"]: item for item in bad["items"]}
    assert items["p1.lstm_cell_backward"]["status"] == "failed"
    assert "dc_prev" in items["p1.lstm_cell_backward"]["feedback"]
    assert items["p1.lstm_cell_forward"]["status"] == "passed"


@pytest.mark.e2e
def test_grade_check_runs_without_the_reference_package(hw3_bundle, tmp_path):
    """A student's installation may lack reference/ and rubrics/: the bundle alone must do."""
    sara = _notebook_of(EXAMPLES / "HW3_Sara_Ahmadi_401234567.zip", tmp_path / "sara")
    blocker = ("import sys\n"
               "class Block:\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               "        if name.split('.')[0] in ('reference', 'rubrics'):\n"
               "            raise ModuleNotFoundError('blocked: ' + name)\n"
               "sys.meta_path.insert(0, Block())\n"
               "from grader.cli import main\n"
               f"sys.argv = ['grade', 'check', {str(sara)!r}, '--bundle', {str(hw3_bundle)!r}, '--format', 'json']\n"
               "main()\n")
    result = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["total"]["score"] == 20


def test_grade_check_names_a_missing_bundle(tmp_path):
    notebook = tmp_path / "P1.ipynb"
    notebook.write_text("{}")
    result = subprocess.run([*GRADE, "check", str(notebook), "--bundle", str(tmp_path)], capture_output=True,
                            text=True, env={**os.environ, "DLGRADE_BUNDLE": ""})
    assert result.returncode == 2
    assert "not a student bundle" in result.stderr and str(tmp_path) in result.stderr


@pytest.mark.e2e
@pytest.mark.parametrize("example, expected_ok, expected_text", [
    ("HW3_Sara_Ahmadi_401234567.zip", True, "✓ p1.lstm_cell_backward: all 3 cases passed"),
    ("HW3_Ali_Rezaei_401234568.zip", False, "✗ p1.lstm_cell_backward: 0/3 cases passed"),
])
def test_check_inside_a_notebook(hw3_bundle, tmp_path, example, expected_ok, expected_text):
    path = _notebook_of(EXAMPLES / example, tmp_path)
    shutil.copy(REPO / "rubrics" / "hw3" / "template" / "rnn_utils.py", path.parent)
    notebook = nbformat.read(path, as_version=4)
    notebook.cells = [c for c in notebook.cells if c.cell_type == "code"]
    notebook.cells.append(nbformat.v4.new_code_cell(
        "from grader.student import check\nprint('RESULT', check('p1.lstm_cell_backward'))"))
    os.environ["DLGRADE_BUNDLE"] = str(hw3_bundle)
    try:
        NotebookClient(notebook, timeout=120, allow_errors=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        del os.environ["DLGRADE_BUNDLE"]
    output = "".join(o.get("text", "") for o in notebook.cells[-1].outputs if o.get("output_type") == "stream")
    assert f"RESULT {expected_ok}" in output
    assert expected_text in output
    if not expected_ok:
        assert "dc_prev" in output
    assert "public checks only" in output


def test_check_in_process_runs_module_properties(tmp_path):
    """A module item's properties run on the live class, in the caller's own process."""
    rubric = rubric_module.load("hw3-p2")
    folder = export_bundle(rubric, tmp_path / "bundle").folder
    solution = json.loads((Path(rubric_module.locate("hw3-p2")).parent / "solution" / "P2_SimpleGPT.ipynb")
                          .read_text(encoding="utf-8"))
    namespace: dict = {}
    for cell in solution["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and ("class " in source or source.startswith("import")):
            exec(compile(source, "solution", "exec"), namespace)  # the course's own solution, trusted
    assert check("p2.head", bundle=folder, namespace=namespace)
    namespace["Head"].forward = lambda self, x: x.flip(1)  # sees the future
    assert not check("p2.head", bundle=folder, namespace=namespace)


def test_theory_answers_are_checked_for_readability_only(tmp_path, write_rubric):
    from test_theory import RUBRIC
    folder = export_bundle(rubric_module.load(write_rubric(RUBRIC)), tmp_path / "bundle").folder
    text = bundle_text(folder)
    assert "2362368" not in text and "y_hat - y" not in text and "secret" not in text  # answers and hidden item
    bundle = load_bundle(folder)

    def self_check(answers: str) -> dict:
        (tmp_path / "answers.md").write_text(answers, encoding="utf-8")
        from grader.student.selfcheck import check_files
        report = check_files([tmp_path / "answers.md"], bundle)
        return {item.id: item for item in report.items}

    right = self_check("## count\n2,362,368\n## shape\n32 x 2048 x 768\n## pick\nب، ج\n"
                       "## grad\n$(\\hat{y} - y) s^\\top$\n## essay\nprose\n")
    assert {i: r.status for i, r in right.items()} == {"count": "passed", "shape": "passed", "pick": "passed",
                                                      "grad": "passed", "essay": "manual"}
    assert all(r.score == 0 for r in right.values())  # readable is not right: no points
    assert "read as [32, 2048, 768]" in right["shape"].feedback.replace("(", "[").replace(")", "]")
    assert "read as b, c" in right["pick"].feedback and "graded on upload" in right["grad"].feedback
    # a wrong answer that reads fine passes this check: it says nothing about being right
    assert self_check("## count\n7\n")["count"].status == "passed"
    broken = self_check("## count\n__import__('os').system('x')\n## shape\n(((\n## grad\n" + "(" * 500 + "\n"
                        "## pick\nnone of them\n")
    assert broken["count"].status == "failed" and "cannot read this answer" in broken["count"].feedback
    assert broken["shape"].status == "failed" and broken["grad"].status == "failed"
    assert broken["pick"].status == "failed" and "no option" in broken["pick"].feedback
    assert "no answer under '## essay'" not in broken["essay"].feedback and broken["essay"].status == "manual"


def test_among_several_bundles_the_one_for_the_students_files_is_used_and_named(hw3_bundle, tmp_path):
    """hw3's and hw5's bundles beside the student's files: each file picks its own, and says so."""
    import shutil

    course = tmp_path / "course"
    shutil.copytree(hw3_bundle, course / "hw3-bundle")
    done = subprocess.run([*GRADE, "export-student", "hw5", "--out", str(course / "hw5-bundle")], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    sara = _notebook_of(EXAMPLES / "HW3_Sara_Ahmadi_401234567.zip", course)
    answers = course / "answers.md"
    answers.write_text("## q2.a\ny_hat_t - y_t\n", encoding="utf-8")
    for path, bundle in ((sara, "hw3-bundle"), (answers, "hw5-bundle")):
        checked = subprocess.run([*GRADE, "check", str(path.relative_to(course)), "--format", "json"],
                                 capture_output=True, text=True, cwd=course)
        assert checked.returncode == 0, checked.stderr
        assert f"using the bundle {bundle}" in " ".join(checked.stderr.split())
        assert json.loads(checked.stdout)["assignment"]["id"] == bundle.split("-")[0]
    (course / "notes.txt").write_text("hello")
    unclear = subprocess.run([*GRADE, "check", "notes.txt"], capture_output=True, text=True, cwd=course)
    assert unclear.returncode == 2 and "several student bundles here" in unclear.stderr
    # inside a notebook: the functions it defines choose, and check() says which bundle it used
    from grader.student.bundle import locate_bundle

    chosen, note = locate_bundle(course, defined={"lstm_cell_forward", "lstm_cell_backward", "rnn_forward"})
    assert chosen.name == "hw3-bundle" and "functions this notebook defines" in note
