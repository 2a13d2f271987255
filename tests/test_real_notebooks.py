"""Notebooks as students of real courses write them, graded in definitions mode: every definition a
student wrote must survive what else the notebook does — imports of packages the grader lacks, Colab
lines, the device line, globals computed by calls the grader does not know, training in the middle, a
Python 2 leftover.  Each notebook defines the same three correct functions; each must earn full marks."""
import json

import pytest

from grader import rubric as rubric_module
from grader.grading import GradingOptions, grade

from helpers import write_zip

pytestmark = pytest.mark.e2e

RUBRIC = '''
[assignment]
id = "realworld"
[limits]
call_timeout_s = 5
[[notebooks]]
name = "nb"
match = ["*.ipynb"]
mode = "definitions"
[generators.vec]
function = "refs.py:vec_inputs"
dims = { n = [2, 4], m = [2, 3] }

[[items]]
id = "double"
kind = "function"
points = 1
notebook = "nb"
target = "double"
reference = "refs.py:double"
inputs = "vec"
cases = 2

[[items]]
id = "shifted"
kind = "function"
points = 1
notebook = "nb"
target = "shifted"
reference = "refs.py:shifted"
inputs = "vec"
cases = 2

[[items]]
id = "vocab_scaled"
kind = "function"
points = 1
notebook = "nb"
target = "vocab_scaled"
reference = "refs.py:vocab_scaled"
inputs = "vec"
cases = 2
'''
REFS = '''
def vec_inputs(rng, n, m):
    return {"x": rng.standard_normal((n, m))}

def double(x):
    return 2 * x

def shifted(x):
    return x + 1.5

def vocab_scaled(x):
    return x * len(set("hello world"))
'''
# The three functions, written the way the notebooks below use them: `shifted` reads a global tensor
# on `device`, `vocab_scaled` a vocabulary built by a comprehension over data.
DOUBLE = "def double(x):\n    return 2 * x"
SHIFTED = ("def shifted(x):\n    t = torch.as_tensor(x, device=device)\n"
           "    return (t + SHIFT.to(device)).cpu().numpy()")
VOCAB = "def vocab_scaled(x):\n    return x * len(char_to_index)"
DEVICE = "device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')"
GLOBALS = ("text = 'hello world'\nchars = sorted(set(text))\nchar_to_index = {c: i for i, c in enumerate(chars)}\n"
           "SHIFT = torch.tensor(1.5, dtype=torch.float64)")
TRAINING = ("model = nn.Linear(3, 1)\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "for epoch in range(10**9):\n    loss = model(torch.randn(4, 3)).pow(2).mean()\n"
            "    opt.zero_grad(); loss.backward(); opt.step()")

NOTEBOOKS = {
    "plain jupyter": ["import torch\nimport torch.nn as nn\nimport numpy as np", DEVICE, GLOBALS, DOUBLE, SHIFTED, VOCAB],
    "plotting imports first": ["import matplotlib.pyplot as plt\nimport seaborn as sns\nimport pandas as pd\n"
                               "from tqdm import tqdm\nimport six\nfrom sklearn.metrics import accuracy_score\n"
                               "from PIL import Image\nimport torch\nimport torch.nn as nn\nimport numpy as np",
                               "%matplotlib inline", DEVICE, GLOBALS, DOUBLE, SHIFTED, VOCAB],
    "colab": ["from google.colab import drive\ndrive.mount('/content/drive')", "!pip install einops -q",
              "import torch, torch.nn as nn\nfrom IPython.display import display", DEVICE, GLOBALS,
              DOUBLE, SHIFTED, VOCAB],
    "kaggle": ["import os\nfor dirname, _, filenames in os.walk('/kaggle/input'):\n    for f in filenames:\n"
               "        print(os.path.join(dirname, f))", "import torch\nimport torch.nn as nn",
               "data = open('/kaggle/input/shakespeare/input.txt').read()", DEVICE, GLOBALS,
               DOUBLE, SHIFTED, VOCAB],
    "imports mixed with code": ["import torch\nimport wandb\nwandb.init(project='hw3')\nimport torch.nn as nn\n"
                                + DEVICE + "\n" + GLOBALS + "\n" + DOUBLE, SHIFTED, VOCAB],
    "functions after a training loop": ["import torch\nimport torch.nn as nn", DEVICE, GLOBALS, TRAINING,
                                        DOUBLE, SHIFTED, VOCAB],
    "download beside imports": ["import torch\nimport torch.nn as nn\nimport urllib.request\n"
                                "urllib.request.urlretrieve('https://example.com/data.txt', 'data.txt')",
                                DEVICE, GLOBALS, DOUBLE, SHIFTED, VOCAB],
    "seeds and hyper-parameters": ["import torch\nimport torch.nn as nn\nimport random\ntorch.manual_seed(0)\n"
                                   "random.seed(0)\nconfig = dict(lr=3e-4, n_embd=32)\nbatch_size = config['n_embd'] // 4",
                                   DEVICE, GLOBALS, DOUBLE, SHIFTED, VOCAB],
    "python 2 leftover": ["import torch\nimport torch.nn as nn", DEVICE, GLOBALS,
                          "print 'starting'\n" + DOUBLE + "\n" + SHIFTED + "\n" + VOCAB],
    "missing module used at definition time only": ["import torch\nimport torch.nn as nn\nimport tensorboardX\n"
                                                    "writer = tensorboardX.SummaryWriter()", DEVICE, GLOBALS,
                                                    DOUBLE, SHIFTED, VOCAB],
    "everything in one cell": ["import numpy as np\nimport matplotlib.pyplot as plt\nimport torch\nimport torch.nn as nn\n"
                               + DEVICE + "\n" + GLOBALS + "\n" + TRAINING + "\nplt.plot([1, 2])\nplt.show()\n"
                               + DOUBLE + "\n" + SHIFTED + "\n" + VOCAB],
    "globals redefined later": ["import torch\nimport torch.nn as nn", DEVICE, GLOBALS, DOUBLE, SHIFTED, VOCAB,
                                "history = []\nfor step in range(3):\n    history.append(step)\nprint(history)"],
}


@pytest.fixture(scope="module")
def realworld(tmp_path_factory):
    folder = tmp_path_factory.mktemp("realworld")
    (folder / "refs.py").write_text(REFS)
    (folder / "rubric.toml").write_text(RUBRIC)
    return rubric_module.load(folder / "rubric.toml")


def _notebook(cells: list[str]) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3"}},
                       "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                                  "source": cell} for cell in cells]})


@pytest.mark.parametrize("style", sorted(NOTEBOOKS))
def test_every_definition_survives_the_rest_of_the_notebook(style, realworld, tmp_path):
    zip_path = write_zip(tmp_path / "student.zip", {"homework.ipynb": _notebook(NOTEBOOKS[style])})
    report = grade(zip_path, realworld, GradingOptions())
    lost = {item.id: item.feedback for item in report.items if item.score < item.points}
    assert not lost, (lost, [f"cell {e.cell}: {e.error}" for n in report.notebooks for e in n.errors])


def _graded(realworld, tmp_path, cells):
    zip_path = write_zip(tmp_path / "student.zip", {"homework.ipynb": _notebook(cells)})
    report = grade(zip_path, realworld, GradingOptions())
    notes = " ".join(f"cell {e.cell}: {e.error}" for n in report.notebooks for e in n.errors)
    return {item.id: item for item in report.items}, notes


def test_a_statement_past_its_budget_is_interrupted_and_the_definitions_after_it_run(realworld, tmp_path):
    cells = ["import torch\nimport time", DEVICE, GLOBALS,
             "def train():\n    while True:\n        pass\nhistory = train()", "time.sleep(600)",
             "try:\n    train()\nexcept Exception:\n    pass",  # a student's own catch-all cannot swallow it
             DOUBLE, SHIFTED, VOCAB]
    items, notes = _graded(realworld, tmp_path, cells)
    assert all(item.score == item.points for item in items.values()), notes
    assert "cell 4: line 4: stopped past its 2 s budget" in notes and "cell 5: line 1: stopped past" in notes
    assert "cell 6: line 1: stopped past" in notes


def test_a_missing_module_used_by_graded_code_says_so_and_costs_only_that_item(realworld, tmp_path):
    cells = ["import torch\nimport einops", DEVICE, GLOBALS, DOUBLE, SHIFTED,
             "def vocab_scaled(x):\n    return einops.rearrange(x, 'a b -> a b') * len(char_to_index)"]
    items, notes = _graded(realworld, tmp_path, cells)
    assert items["double"].status == "passed" and items["shifted"].status == "passed"
    assert items["vocab_scaled"].status == "error"
    assert "einops could not be imported in the grading environment (imported on line 2 of cell 1)" in \
        items["vocab_scaled"].feedback
    assert "cell 1: line 2: No module named 'einops'; a stand-in raises if graded code uses it" in notes


PY_RUBRIC = RUBRIC.replace('match = ["*.ipynb"]', 'match = ["cs231n/layers_hw.py"]')


def test_a_python_file_in_a_package_is_graded_statement_by_statement(tmp_path):
    folder = tmp_path / "rubric"
    folder.mkdir()
    (folder / "refs.py").write_text(REFS)
    (folder / "rubric.toml").write_text(PY_RUBRIC)
    rubric = rubric_module.load(folder / "rubric.toml")
    module = ("from __future__ import print_function\nimport torch\nfrom .helpers import SHIFT_VALUE\n"
              "from cs231n.helpers import make_vocab\n"
              "device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')\n"
              "SHIFT = torch.tensor(SHIFT_VALUE, dtype=torch.float64)\nchar_to_index = make_vocab('hello world')\n"
              "print 'loaded layers'\n" + DOUBLE + "\n\n" + SHIFTED + "\n\n" + VOCAB + "\n")
    helpers = "SHIFT_VALUE = 1.5\n\ndef make_vocab(text):\n    return {c: i for i, c in enumerate(sorted(set(text)))}\n"
    zip_path = write_zip(tmp_path / "student.zip", {"assignment3/cs231n/__init__.py": "",
                                                     "assignment3/cs231n/helpers.py": helpers,
                                                     "assignment3/cs231n/layers_hw.py": module,
                                                     "assignment3/cs231n/other.ipynb": _notebook(["x = 1"])})
    report = grade(zip_path, rubric, GradingOptions())
    assert report.notebooks[0].path.endswith("cs231n/layers_hw.py")
    lost = {item.id: item.feedback for item in report.items if item.score < item.points}
    assert not lost, lost
    notes = [e.error for n in report.notebooks for e in n.errors]
    assert len(notes) == 1 and "SyntaxError on line 8" in notes[0]  # the Python 2 print: only that line
