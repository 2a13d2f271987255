"""The worked example of another course: CS231n's ``cs231n/rnn_layers.py`` graded through the real
``grade`` command.  A correct file earns full marks whatever cache it designs; each planted bug loses
exactly the items whose code it breaks (a step's bug also costs the sequence function that calls the
step); a Python 2 ``print`` line costs only its function."""
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import REPO, write_zip
from test_cli_e2e import run

pytestmark = pytest.mark.e2e

RUBRIC = REPO / "rubrics" / "cs231n-rnn"
SOLUTION = (RUBRIC / "solution" / "cs231n" / "rnn_layers.py").read_text(encoding="utf-8")
TEMPLATE = (RUBRIC / "template" / "cs231n" / "rnn_layers.py").read_text(encoding="utf-8")
ITEMS = ["rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward", "word_embedding_forward",
         "word_embedding_backward", "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss",
         "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward"]

# A student's own cache design: dicts for the RNN step, pre-activations recomputed in the LSTM's backward.
OWN_CACHE = [
    ("cache = (x, prev_h, Wx, Wh, next_h)", 'cache = {"h": next_h, "x": x, "prev": prev_h, "Wx": Wx, "Wh": Wh}'),
    ("x, prev_h, Wx, Wh, next_h = cache", 'x, prev_h, Wx, Wh, next_h = (cache[k] for k in ("x", "prev", "Wx", "Wh", "h"))'),
    ("D = cache[0][0].shape[1]", 'D = cache[0]["x"].shape[1]'),
    ("cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)", "cache = (a, next_c, x, prev_h, prev_c, Wx, Wh)"),
    ("x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache",
     "a, next_c, x, prev_h, prev_c, Wx, Wh = cache\n    H = prev_h.shape[1]\n"
     "    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H])\n"
     "    g, tanh_c = np.tanh(a[:, 3 * H:]), np.tanh(next_c)"),
    ("D = cache[0][0].shape[1]", "D = cache[0][2].shape[1]"),
]

VARIANTS = {
    "correct": ([], set()),
    "own cache design": (OWN_CACHE, set()),
    "backward reads the wrong cache entry": ([("da = dnext_h * (1 - next_h ** 2)", "da = dnext_h * (1 - prev_h ** 2)")],
                                             {"rnn_step_backward", "rnn_backward"}),
    "missing gradient term": ([("dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)", "dc = dnext_c")],
                              {"lstm_step_backward", "lstm_backward"}),
    "transposed weight in a backward": ([("dprev_h = da.dot(Wh.T)", "dprev_h = da.dot(Wh)")],
                                        {"rnn_step_backward", "rnn_backward"}),
    # forward and backward both use Wh transposed: the forward is wrong, the backward is its derivative
    "transposed weight used consistently": ([("prev_h.dot(Wh) + b)", "prev_h.dot(Wh.T) + b)"),
                                             ("dprev_h = da.dot(Wh.T)", "dprev_h = da.dot(Wh)"),
                                             ("dWh = prev_h.T.dot(da)", "dWh = da.T.dot(prev_h)")],
                                            {"rnn_step_forward", "rnn_forward"}),
    "db summed over the wrong axis": ([("db = dout.sum(axis=(0, 1))", "db = dout.sum(axis=0)")],
                                      {"temporal_affine_backward"}),
    "embedding gradient assigned, not accumulated": ([("np.add.at(dW, x, dout)", "dW[x] = dout")],
                                                     {"word_embedding_backward"}),
    "python 2 print": ([('print("dx_flat: ", dx_flat.shape)', "print 'dx_flat: ', dx_flat.shape")],
                       {"temporal_softmax_loss"}),
}


def planted(edits):
    source = SOLUTION
    for old, new in edits:
        assert old in source, f"planted edit matches nothing: {old}"
        source = source.replace(old, new, 1)
    return source


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cs231n")
    sources = {name: planted(edits) for name, (edits, _) in VARIANTS.items()}
    sources["template"] = TEMPLATE

    def grade_one(name):
        archive = write_zip(folder / f"{name.replace(' ', '_')}_a3.zip", {
            "cs231n/__init__.py": "", "cs231n/rnn_layers.py": sources[name],
            "cs231n/layers.py": "import numpy as np\n", "RNN_Captioning.ipynb": "{}"})
        done = run(archive, "--rubric", RUBRIC, "--format", "json")
        assert done.returncode in (0, 1), done.stderr
        return name, json.loads(done.stdout)

    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(grade_one, sources))


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_variant_loses_exactly_the_items_its_code_breaks(reports, variant):
    items = {item["id"]: item for item in reports[variant]["items"]}
    assert list(items) == ITEMS
    lost = {item_id for item_id, item in items.items() if item["score"] < item["points"]}
    assert lost == VARIANTS[variant][1], {i: items[i]["feedback"] for i in lost ^ VARIANTS[variant][1]}
    for item_id in lost:
        assert items[item_id]["feedback"], item_id


def test_a_consistent_backward_of_a_wrong_forward_says_how_it_passed(reports):
    items = {item["id"]: item for item in reports["transposed weight used consistently"]["items"]}
    assert "derivative of your own rnn_step_forward()" in items["rnn_step_backward"]["feedback"]
    assert "derivative of your own rnn_forward()" in items["rnn_backward"]["feedback"]
    assert "max abs error" in items["rnn_step_forward"]["feedback"]


def test_feedback_names_the_wrong_gradient(reports):
    items = {item["id"]: item for item in reports["missing gradient term"]["items"]}
    feedback = items["lstm_step_backward"]["feedback"]
    assert "dx: " in feedback and "values wrong" in feedback
    assert "also wrong: dprev_h, dprev_c, dWx, dWh, db" in feedback
    affine = {item["id"]: item for item in reports["db summed over the wrong axis"]["items"]}
    assert "db: expected shape (" in affine["temporal_affine_backward"]["feedback"]


def test_the_python_2_line_costs_its_function_and_names_its_line(reports):
    items = {item["id"]: item for item in reports["python 2 print"]["items"]}
    line = planted(VARIANTS["python 2 print"][0]).splitlines().index("        print 'dx_flat: ', dx_flat.shape") + 1
    feedback = items["temporal_softmax_loss"]["feedback"]
    assert f"rnn_layers.py, which defines it, failed with SyntaxError on line {line} in temporal_softmax_loss" in feedback
    assert items["temporal_softmax_loss"]["score"] == 0


def test_the_template_earns_nothing(reports):
    assert all(item["score"] == 0 for item in reports["template"]["items"])
    assert reports["template"]["total"]["score"] == 0


def test_selftest_passes_for_the_course():
    done = run("selftest", RUBRIC)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the solution earns 50/50 automatic points and the templates earn nothing" in " ".join(done.stdout.split())
