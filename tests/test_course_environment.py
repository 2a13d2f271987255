"""A course environment: what a rubric's notebooks import beyond the grader's Python, built once with uv
from a wheel folder (no network), cached, mounted read-only on the kernel's sys.path, cold and warm."""
import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader import rubric as rubric_module
from grader.rubric import RubricError

from helpers import GRADE, REPO, notebook_text, write_zip

pytestmark = pytest.mark.e2e

RUBRIC = '''
[assignment]
id = "envcourse"
[environment]
requirements = ["course-plot"]
find_links = ["wheels"]
offline = true
[[notebooks]]
name = "nb"
match = ["*.ipynb"]
mode = "definitions"
[generators.vec]
function = "refs.py:vec_inputs"
dims = { n = [2, 4] }
[[items]]
id = "scaled"
kind = "function"
points = 1
notebook = "nb"
target = "scaled"
reference = "refs.py:scaled"
inputs = "vec"
cases = 2
'''
REFS = "def vec_inputs(rng, n):\n    return {'x': rng.standard_normal(n)}\n\ndef scaled(x):\n    return 3.0 * x\n"
# the course's package is used inside the graded function; matplotlib (not installed) only outside it
NOTEBOOK = notebook_text("import numpy as np\nimport course_plot\nimport matplotlib.pyplot as plt",
                         "def scaled(x):\n    return course_plot.scale() * x", "plt.plot([1, 2])")
WRITER = notebook_text("import os, course_plot",
                       "def scaled(x):\n    open(os.path.join(os.path.dirname(course_plot.__file__), 'x'), 'w')\n"
                       "    return 3.0 * x")


def wheel(folder: Path, dist: str, version: str, files: dict[str, str]) -> Path:
    """A pure-Python wheel written by hand: the tests reach no package index."""
    info = f"{dist}-{version}.dist-info"
    files = {**files, f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: dlgrade-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = [f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},"
              f"{len(text.encode())}" for path, text in files.items()] + [f"{info}/RECORD,,"]
    target = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return target


@pytest.fixture
def course(tmp_path):
    (tmp_path / "wheels").mkdir()
    wheel(tmp_path / "wheels", "course_plot", "1.0", {"course_plot/__init__.py": "def scale():\n    return 3.0\n"})
    (tmp_path / "refs.py").write_text(REFS)
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    return tmp_path


def grade(*args, cache: Path, timeout=300):
    return subprocess.run([*GRADE, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=REPO,
                          env={**os.environ, "DLGRADE_CACHE": str(cache)})


def sandbox_works() -> bool:
    probe = subprocess.run([sys.executable, "-c", "from grader.execution import sandbox; "
                            "print(sandbox.available().isolation)"], capture_output=True, text=True, timeout=60)
    return probe.stdout.strip() == "bubblewrap"


def test_grade_env_builds_once_then_says_it_is_cached(course):
    first = grade("env", course / "rubric.toml", cache=course / "cache")
    assert first.returncode == 0, first.stderr
    assert "building the course environment (course-plot) once" in " ".join(first.stderr.split())
    assert "built in" in first.stdout and "course-plot==1.0" in first.stdout
    again = grade("env", course / "rubric.toml", cache=course / "cache")
    assert again.returncode == 0 and "cached" in again.stdout and again.stderr == ""
    (site,) = (course / "cache" / "envs").glob("*/site")
    assert (site / "course_plot" / "__init__.py").is_file()
    assert not list(site.glob("numpy*")) and not list(site.glob("torch*"))  # the grader's own are never copied


def test_a_notebook_that_uses_the_course_package_earns_its_points_cold_and_warm(course):
    (course / "class").mkdir()
    write_zip(course / "class" / "a.zip", {"work.ipynb": NOTEBOOK})
    write_zip(course / "class" / "b.zip", {"work.ipynb": NOTEBOOK})
    mode = "require" if sandbox_works() else "off"
    done = grade(course / "class" / "a.zip", "--rubric", course / "rubric.toml", "--sandbox", mode, "--format", "json",
                 cache=course / "cache")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["total"]["score"] == 1, report["items"]
    assert "building the course environment" in " ".join(done.stderr.split())  # the first time only
    notes = " ".join(error["error"] for error in report["notebooks"][0]["errors"])
    assert "matplotlib" in notes  # missing, and used only outside the graded function: it costs nothing
    batch = grade("batch", course / "class", "-r", course / "rubric.toml", "-o", course / "results", "-j", "2",
                  "--sandbox", mode, "--quiet", cache=course / "cache")
    assert batch.returncode == 0, batch.stderr
    assert "building the course environment" not in batch.stderr
    rows = (course / "results" / "gradebook.csv").read_text().splitlines()[1:]
    assert len(rows) == 2 and all(",1,1,0,1," in row for row in rows), rows


def test_without_the_environment_the_same_notebook_is_told_what_could_not_be_imported(course):
    (course / "rubric.toml").write_text(RUBRIC.split("[environment]")[0] + "[[notebooks]]" + RUBRIC.split("[[notebooks]]")[1])
    write_zip(course / "a.zip", {"work.ipynb": NOTEBOOK})
    done = grade(course / "a.zip", "--rubric", course / "rubric.toml", "--format", "json", cache=course / "cache")
    report = json.loads(done.stdout)
    assert report["items"][0]["score"] == 0
    assert "course_plot could not be imported in the grading environment" in report["items"][0]["feedback"]


def test_the_kernel_cannot_write_into_the_course_environment(course):
    if not sandbox_works():
        pytest.skip("bubblewrap cannot run on this machine")
    write_zip(course / "w.zip", {"work.ipynb": WRITER})
    done = grade(course / "w.zip", "--rubric", course / "rubric.toml", "--sandbox", "require", "--format", "json",
                 cache=course / "cache")
    report = json.loads(done.stdout)
    assert report["items"][0]["score"] == 0 and "Read-only file system" in report["items"][0]["feedback"]
    assert not list((course / "cache" / "envs").glob("*/site/course_plot/x"))


def test_an_environment_that_cannot_be_built_is_a_grader_fault_never_a_score(course):
    (course / "rubric.toml").write_text(RUBRIC.replace('["course-plot"]', '["course-plot", "no-such-package"]'))
    built = grade("env", course / "rubric.toml", cache=course / "cache")
    assert built.returncode == 4 and "could not be built" in built.stderr and "no-such-package" in built.stderr
    write_zip(course / "a.zip", {"work.ipynb": NOTEBOOK})
    done = grade(course / "a.zip", "--rubric", course / "rubric.toml", "--format", "json", cache=course / "cache")
    assert done.returncode == 4
    report = json.loads(done.stdout)
    assert report["items"][0]["status"] == "grader_error" and "could not be built" in report["grader_error"]["cause"]


@pytest.mark.parametrize("old, new, field", [
    ('["course-plot"]', '["-e ."]', "requirements"),
    ('["course-plot"]', '"course-plot"', "requirements"),
    ('find_links = ["wheels"]', 'find_links = ["nowhere"]', "find_links"),
    ("offline = true", "offline = true\nindex = 'x'", "index"),
])
def test_environment_fields_are_validated(course, old, new, field):
    (course / "rubric.toml").write_text(RUBRIC.replace(old, new))
    with pytest.raises(RubricError) as error:
        rubric_module.load(course / "rubric.toml")
    assert error.value.where == "[environment]" and error.value.field == field


@pytest.mark.parametrize("rubric_id", rubric_module.bundled_rubric_ids())
def test_every_bundled_rubric_declares_what_its_templates_and_solutions_import(rubric_id):
    """A module a template or solution imports is the grader's own (torch, numpy, the standard library),
    a starter file the rubric ships, or in the rubric's [environment] requirements."""
    import ast
    import importlib.util

    from grader.execution.cells import cell_source, without_magics
    from grader.execution.runner import read_notebook_cells

    rubric = rubric_module.load(rubric_id)
    declared = {r.split("[")[0].split("=")[0].split("<")[0].split(">")[0].strip().replace("-", "_").lower()
                for r in (rubric.environment.requirements if rubric.environment else ())}
    for notebook in rubric.notebooks.values():
        starters = {path.stem for path in notebook.starter_files}
        for path in filter(None, (notebook.template, notebook.solution)):
            for cell in read_notebook_cells(path):
                if cell["cell_type"] != "code":
                    continue
                for node in ast.walk(ast.parse(without_magics(cell_source(cell)))):
                    if isinstance(node, ast.ImportFrom) and node.level:
                        continue  # relative: inside the submission's own package
                    names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                             else [node.module] if isinstance(node, ast.ImportFrom) else [])
                    for name in names:
                        top = name.split(".")[0]
                        assert (top in starters or top.lower() in declared
                                or importlib.util.find_spec(top) is not None), (path.name, top)


def test_a_warm_kernel_through_a_link_imports_from_the_environment_and_cannot_write_to_it(course):
    import pickle
    import tempfile

    from grader.environment import ensure
    from grader.execution import sandbox
    from grader.execution.kernel import KernelSession
    from grader.execution.limits import Limits
    from grader.execution.zygote import Zygote, usable

    limits = Limits(call_timeout_s=5, cell_timeout_s=20, processes=64)
    if not usable(sandbox.protections_for("auto", limits)):
        pytest.skip("warm kernels need root and a working bubblewrap")
    os.environ["DLGRADE_CACHE"] = str(course / "cache")
    try:
        site = str(ensure(rubric_module.load(course / "rubric.toml").environment).site)
    finally:
        del os.environ["DLGRADE_CACHE"]
    with Zygote(extra_paths=(site,)) as zygote:
        link = pickle.loads(pickle.dumps(zygote.link()))  # as grade batch's workers reach it
        folder = Path(tempfile.mkdtemp(prefix="ws-", dir=zygote.stage))
        session = KernelSession(folder, limits, zygote=link, extra_paths=(site,))
        session.start()
        try:
            assert session.warm, "the kernel was started cold"
            outcome = session.execute(
                "import os, course_plot\nprint(course_plot.scale())\n"
                "try:\n    open(os.path.join(os.path.dirname(course_plot.__file__), 'x'), 'w')\n"
                "except OSError as exc:\n    print(type(exc).__name__, exc.errno)", 20)
            assert outcome.ok, outcome.describe()
            assert outcome.stdout.split() == ["3.0", "OSError", "30"]  # EROFS
        finally:
            session.shutdown()
