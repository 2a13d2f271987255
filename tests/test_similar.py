"""`grade similar`: copies rank above independent work, whatever disguise; template code counts for
nothing; broken and hostile submissions are reported, never run, never stop the comparison."""
from __future__ import annotations

import json
import subprocess
import zipfile

import pytest

from grader.similarity.fingerprint import K, WINDOW, fingerprints, normalise
from helpers import GRADE
from similarity_class import build_class, cells_of, notebook, write_submission, write_template_rubric, STYLES


def texts(source: str) -> list[str]:
    return [token.text for token in normalise(source)]


def test_normalising_ignores_names_comments_docstrings_and_layout():
    original = 'def f(x, w):\n    """Doc."""\n    y = np.tanh(w @ x)  # the layer\n    return y\n'
    disguised = 'def layer(inp, weights):\n\n    # a comment\n    out = np.tanh(weights @ inp)\n    return out\n'
    assert texts(original) == texts(disguised)
    assert "tanh" in texts(original) and "V" in texts(original)  # an attribute keeps its name
    assert texts("y = np.exp(x)") != texts("y = np.tanh(x)")
    assert texts("x = 3") == texts("x = 4.5") and texts("s = 'a'") == texts('s = "bcd"')


def test_broken_code_still_gets_tokens_and_line_numbers():
    tokens = normalise("def f(:\n    return [1, 2\n'unterminated")
    assert tokens and {token.line for token in tokens} >= {1, 2}


def test_a_shared_run_of_window_plus_k_tokens_always_shares_a_fingerprint():
    shared = " ".join(f"v{i} = np.add(v{i}, {i})" for i in range(WINDOW + K))
    a = fingerprints(normalise("import os\n" + shared))
    b = fingerprints(normalise("x = np.exp(y)\nz = (x, y)\n" + shared))
    assert {h for h, _, _ in a} & {h for h, _, _ in b}
    assert fingerprints(normalise("x = 1")) == []  # shorter than one k-gram


@pytest.fixture(scope="module")
def ranked(tmp_path_factory):
    root = tmp_path_factory.mktemp("similar")
    build_class(root / "class")
    rubric = write_template_rubric(root / "rubric")
    done = subprocess.run([*GRADE, "similar", str(root / "class"), "--rubric", str(rubric), "--format", "json",
                           "--quiet"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), root, rubric


COPIES = {frozenset({"40100000", "40100010"}), frozenset({"40100001", "40100011"}),
          frozenset({"40100002", "40100012"})}


def test_copies_rank_above_every_independent_pair(ranked):
    report, _, _ = ranked
    assert report["submissions"] == 9
    scores = {frozenset({p["a"]["key"], p["b"]["key"]}): p["score"] for p in report["pairs"]}
    top = [frozenset({p["a"]["key"], p["b"]["key"]}) for p in report["pairs"][:3]]
    assert set(top) == COPIES
    weakest_copy = min(scores[pair] for pair in COPIES)
    strongest_other = max(score for pair, score in scores.items() if pair not in COPIES)
    assert weakest_copy >= 0.9 and strongest_other < 0.25 and weakest_copy > 3 * strongest_other
    # the renamed and reordered copy is found function by function, in its own order
    renamed = next(p for p in report["pairs"] if {p["a"]["key"], p["b"]["key"]} == {"40100001", "40100011"})
    assert len(renamed["a_lines"]) == len(renamed["b_lines"]) == 3


def test_submissions_that_share_only_the_template_score_near_zero(ranked):
    report, _, _ = ranked
    template_only = {"40100013", "40100014"}
    for pair in report["pairs"]:
        if {pair["a"]["key"], pair["b"]["key"]} & template_only:
            assert pair["score"] < 0.05, pair


def test_html_shows_pairs_side_by_side_and_keeps_student_text_inert(ranked, tmp_path):
    _, root, rubric = ranked
    hostile = cells_of(STYLES[0])
    hostile[2] = hostile[2].replace('    Wax = parameters["Wax"]', '    Wax = parameters["Wax"]  # </pre><script>alert(1)</script>')
    assert "<script>" in hostile[2]
    (root / "class" / "HW3_Evil_Copy_40100099.zip").write_bytes(b"")
    with zipfile.ZipFile(root / "class" / "HW3_Evil_Copy_40100099.zip", "w") as archive:
        archive.writestr("P1.ipynb", notebook(hostile))
    (root / "class" / "HW3_Broken_Zip_40100098.zip").write_bytes(b"not a zip at all")
    out = tmp_path / "similar.html"
    done = subprocess.run([*GRADE, "similar", str(root / "class"), "--rubric", str(rubric), "--format", "html",
                           "--out", str(out), "--quiet"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;/pre&gt;&lt;script&gt;" in page
    assert page.count("<details") >= 4 and "<mark>" in page and "Evil Copy (40100099)" in page
    text = subprocess.run([*GRADE, "similar", str(root / "class"), "--rubric", str(rubric), "--quiet"],
                          capture_output=True, text=True, timeout=300).stdout
    assert "not compared: HW3_Broken_Zip_40100098.zip: cannot be read" in text


def test_what_is_graded_is_what_is_compared_and_the_rest_is_listed(tmp_path):
    """A copy padded past 16 MiB, and a copy behind 250 empty files, are graded (the notebook the rubric
    matches, up to the grader's 64 MiB): so they are compared too; a file past that is listed, not dropped."""
    from grader import rubric as rubric_module
    from grader.similarity import corpus

    rubric = rubric_module.load(write_template_rubric(tmp_path / "rubric"))
    template = corpus.template_prints(rubric)
    graded = tuple(notebook.match for notebook in rubric.notebooks.values())
    original = cells_of(STYLES[0])
    padded = json.loads(notebook(original))
    padded["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "x" * (20 * 2**20)})
    paths = {"original": write_submission(tmp_path, "Orig_A_1", original)}
    paths["padded"] = tmp_path / "HW3_Padded_B_2.zip"
    with zipfile.ZipFile(paths["padded"], "w") as archive:
        archive.writestr("P1_RNN_LSTM.ipynb", json.dumps(padded))
    paths["buried"] = tmp_path / "HW3_Buried_C_3.zip"
    with zipfile.ZipFile(paths["buried"], "w") as archive:
        for n in range(250):
            archive.writestr(f"aaa/empty_{n:03d}.py", "")
        archive.writestr("zzz/P1_RNN_LSTM.ipynb", notebook(original))
        archive.writestr("zzz/huge.py", "# " + "y" * (70 * 2**20))
    documents = {name: corpus.read_document(name, name, path, template, set(), graded) for name, path in paths.items()}
    shared = set(documents["original"].prints)
    assert len(shared) > 20
    assert set(documents["padded"].prints) >= shared and set(documents["buried"].prints) >= shared
    skipped = " ".join(documents["buried"].skipped)
    assert "more code files (the first 200 are compared)" in skipped
    assert documents["padded"].skipped == []
