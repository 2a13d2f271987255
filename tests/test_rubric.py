import pytest

from grader import rubric as rubric_module
from grader.rubric import RubricError

MINIMAL = '''
[assignment]
id = "t1"
submission = 'T1_(?P<student_id>\\d+)\\.zip'

[[notebooks]]
name = "nb"
match = ["*.ipynb"]
mode = "definitions"

[generators.vec]
function = "refs.py:vec_inputs"
dims = { n = [1, 4] }
edge = [{ n = 1 }]

[[items]]
id = "double"
kind = "function"
points = 2
notebook = "nb"
target = "double"
reference = "refs.py:double"
inputs = "vec"
'''
REFS = {"refs.py": '''
def vec_inputs(rng, n):
    return {"x": rng.standard_normal(n)}

def double(x):
    return 2 * x
'''}


def test_bundled_hw3_loads_by_id_with_every_item_configured():
    rubric = rubric_module.load("hw3")
    assert rubric.id == "hw3" and rubric.max_points == 20
    assert [i.kind for i in rubric.items].count("gradient") == 4
    assert rubric.aliases["Wi"] == "Wu"
    notebook = rubric.notebooks["rnn_lstm"]
    assert notebook.mode == "definitions" and notebook.starter_files[0].name == "rnn_utils.py"
    assert rubric_module.locate(str(rubric.path)) == rubric.path  # a path works as well as the id


def test_a_course_rubric_with_its_own_reference_file(write_rubric):
    path = write_rubric(MINIMAL, REFS)
    rubric = rubric_module.load(path)
    assert rubric.items[0].config.reference(3) == 6
    assert rubric_module.load(path.parent).id == "t1"  # a folder holding rubric.toml


def test_references_are_imported_on_first_call_and_checked_without_running(write_rubric):
    lazy = {"refs.py": REFS["refs.py"] + "\nimport not_a_module_anywhere  # breaks only when run\n"}
    rubric = rubric_module.load(write_rubric(MINIMAL, lazy))  # both names are defined at the top level
    reference = rubric.items[0].config.reference
    with pytest.raises(ValueError, match=r"cannot load refs.py:double: ModuleNotFoundError"):
        reference(3)
    with pytest.raises(RubricError, match=r"\[generators.vec\], field 'function': .*not_a_module_anywhere"):
        rubric_module.resolve_references(rubric)
    # a name only running the module binds is looked for by running it, at load
    dynamic = {"refs.py": REFS["refs.py"] + "\nglobals()['triple'] = lambda x: 3 * x\n"}
    assert rubric_module.load(write_rubric(MINIMAL.replace("refs.py:double", "refs.py:triple"),
                                           dynamic)).items[0].config.reference(2) == 6


def test_a_reference_file_edited_between_loads_is_read_again(write_rubric):
    path = write_rubric(MINIMAL, {"refs.py": REFS["refs.py"].replace("def double", "def later")})
    with pytest.raises(RubricError, match=r"items\[0\] \(double\), field 'reference'"):
        rubric_module.load(path)
    (path.parent / "refs.py").write_text(REFS["refs.py"])  # the name read from the old text would fail
    assert rubric_module.load(path).items[0].config.reference is not None


def test_a_reference_file_runs_once_when_threads_ask_for_it_together(write_rubric, tmp_path):
    runs = tmp_path / "runs.txt"
    slow = {"refs.py": f"import time\nopen({str(runs)!r}, 'a').write('x')\ntime.sleep(0.2)\n" + REFS["refs.py"]}
    rubric = rubric_module.load(write_rubric(MINIMAL, slow))
    background = rubric_module.import_references_meanwhile(rubric)  # what grade() starts first
    assert rubric.items[0].config.reference(3) == 6  # the check's own call, while the file still runs
    background.join(10)
    assert runs.read_text() == "x"
    assert rubric.generators["vec"].function.resolve() is not None


def test_a_process_that_outlives_an_edit_of_a_reference_file_runs_the_new_version(write_rubric):
    path = write_rubric(MINIMAL, REFS)
    before = rubric_module.load(path)
    assert before.items[0].config.reference(3) == 6
    (path.parent / "refs.py").write_text(REFS["refs.py"].replace("return 2 * x", "return 3 * x"))
    after = rubric_module.load(path)  # a Dask worker's next batch, in the same process
    assert after.items[0].config.reference(3) == 9
    # the key of the values computed from the references (the expected-value cache) changes with them
    assert after.sha256 == before.sha256 and after.references_sha256 != before.references_sha256


def test_loading_a_rubric_or_the_cli_does_not_import_torch():
    import subprocess
    import sys
    code = ("import sys, grader.cli, grader.rubric; grader.rubric.load('hw3'); "
            "print(sorted(m for m in ('torch', 'reference.hw3_rnn') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


@pytest.mark.parametrize("old, new, where, field", [
    ('points = 2', 'points = "two"', "items[0] (double)", "points"),
    ('points = 2', 'points = -1', "items[0] (double)", "points"),
    ('kind = "function"', 'kind = "magic"', "items[0] (double)", "kind"),
    ('notebook = "nb"', 'notebook = "missing"', "items[0] (double)", "notebook"),
    ('target = "double"', 'target = "not an identifier"', "items[0] (double)", "target"),
    ('reference = "refs.py:double"', 'reference = "refs.py:nothing"', "items[0] (double)", "reference"),
    ('reference = "refs.py:double"', 'reference = "absent.py:double"', "items[0] (double)", "reference"),
    ('inputs = "vec"', 'inputs = "nope"', "items[0] (double)", "inputs"),
    ('id = "double"', 'id = "has space"', "items[0] (has space)", "id"),
    ('mode = "definitions"', 'mode = "fast"', "notebooks[0] (nb)", "mode"),
    ('match = ["*.ipynb"]', 'match = []', "notebooks[0] (nb)", "match"),
    ('dims = { n = [1, 4] }', 'dims = { n = [4, 1] }', "[generators.vec]", "dims.n"),
    ('edge = [{ n = 1 }]', 'edge = [{ m = 1 }]', "[generators.vec]", "edge"),
    ("submission = 'T1_(?P<student_id>\\d+)\\.zip'", "submission = '(unclosed'", "[assignment]", "submission"),
])
def test_validation_errors_name_the_file_the_item_and_the_field(write_rubric, old, new, where, field):
    assert old in MINIMAL
    path = write_rubric(MINIMAL.replace(old, new), REFS)
    with pytest.raises(RubricError) as caught:
        rubric_module.load(path)
    assert caught.value.path == str(path) and caught.value.field == field
    assert where in str(caught.value) and f"field '{field}'" in str(caught.value)


def test_unknown_fields_and_duplicate_ids_are_errors(write_rubric):
    with pytest.raises(RubricError, match="field 'rtl'.*unknown field"):
        rubric_module.load(write_rubric(MINIMAL.replace('inputs = "vec"', 'inputs = "vec"\nrtl = 1e-3'), REFS))
    duplicated = MINIMAL + MINIMAL[MINIMAL.index("[[items]]"):]
    with pytest.raises(RubricError, match="duplicate item id"):
        rubric_module.load(write_rubric(duplicated, REFS))


def test_bad_toml_and_missing_rubric(write_rubric, tmp_path):
    with pytest.raises(RubricError, match="not valid TOML"):
        rubric_module.load(write_rubric("[assignment\nid = 1"))
    with pytest.raises(RubricError, match="not a bundled rubric id .*hw3"):
        rubric_module.load("hw99")
    with pytest.raises(RubricError, match=r"\[assignment\].*missing table"):
        rubric_module.load(write_rubric("[[items]]\nid = 'x'"))


def test_limits_are_merged_and_validated(write_rubric):
    rubric = rubric_module.load(write_rubric("[limits]\ncall_timeout_s = 2\n" + MINIMAL, REFS))
    assert rubric.limits.call_timeout_s == 2 and rubric.limits.cell_timeout_s == 60
    assert rubric.limits.merged({"call_timeout_s": 5, "cell_timeout_s": None}).call_timeout_s == 5
    with pytest.raises(RubricError, match=r"\[limits\], field 'walltime'"):
        rubric_module.load(write_rubric("[limits]\nwalltime = 2\n" + MINIMAL, REFS))
