"""Build the example hw3 submissions from the rubric's solution notebook.

Each example is the solution with one realistic change, zipped the way students zip their work
(a top-level folder, checkpoint copies, their own rnn_utils.py).  The zips are committed; run this
again after changing the solution: python submissions_example/make_examples.py
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
HW3 = HERE.parent / "rubrics" / "hw3"
FIXED_TIME = (2024, 4, 20, 12, 0, 0)  # byte-identical zips on every run


def mutate(source: str, old: str, new: str) -> str:
    if old not in source:
        raise SystemExit(f"mutation target not found in the solution: {old!r}")
    return source.replace(old, new)


def buggy_dc_prev(cells: list[str]) -> list[str]:
    """lstm_cell_backward forgets the tanh′(c_next) factor in dc_prev (a classic slip)."""
    return [mutate(c, "    dc_prev = dc * ft\n", "    dc_prev = (dc_next + da_next * ot) * ft\n")
            if "def lstm_cell_backward" in c else c for c in cells]


def raising_cell(cells: list[str]) -> list[str]:
    """The cell defining rnn_cell_backward imports tanh_backward from a helper module the student did not
    submit, and uses it: that function (and rnn_backward, which calls it) raises; nothing else is lost."""
    return [mutate("from rnn_helpers import tanh_backward\n" + c, "    dz = (1 - a_next ** 2) * da_next\n",
                   "    dz = tanh_backward(a_next) * da_next\n") if "def rnn_cell_backward" in c else c for c in cells]


def endless_loop_and_wu(cells: list[str]) -> list[str]:
    """lstm_forward loops forever (the step counter is never increased); the student's template
    version spells the update gate Wu/bu, which the rubric's aliases accept."""
    out = []
    for c in cells:
        if "def lstm_forward" in c:
            c = mutate(c, "    for t in range(T_x):\n", "    t = 0\n    while t < T_x:\n")
        if "def lstm_cell_forward" in c or "def lstm_cell_backward" in c:
            c = c.replace('parameters["Wi"]', 'parameters["Wu"]').replace('parameters["bi"]', 'parameters["bu"]')
            c = c.replace('"dWi": dWi', '"dWu": dWi').replace('"dbi": dbi', '"dbu": dbi')
        if "def lstm_backward" in c:
            c = c.replace('gradients["dWi"]', 'gradients["dWu"]').replace('gradients["dbi"]', 'gradients["dbu"]')
        out.append(c)
    return out


def hostile(cells: list[str]) -> list[str]:
    """Mallory attacks the grader from code that runs even in definitions mode: rnn_forward tries to
    import the grader's reference and kills its kernel when it cannot; lstm_forward is a fork bomb;
    rnn_cell_backward returns the right answer only if it can read the grader's rubric; and a class
    body (executed at definition time) loops forever.  The other five functions are honest."""
    out = []
    for c in cells:
        if "def rnn_forward" in c:
            c = ("import os\n\ndef rnn_forward(x, a0, parameters):\n    try:\n"
                 "        from reference.hw3_rnn import rnn_forward as stolen\n    except ImportError:\n"
                 "        os._exit(1)\n    return stolen(x, a0, parameters)\n")
        elif "def lstm_forward" in c:
            c = ("import os\n\ndef lstm_forward(x, a0, parameters):\n    while True:\n        try:\n"
                 "            os.fork()\n        except OSError:\n            pass\n")
        elif "def rnn_cell_backward" in c:
            c = c.replace('    (a_next, a_prev, xt, parameters) = cache\n',
                          '    (a_next, a_prev, xt, parameters) = cache\n    open("/work/main/rubrics/hw3/rubric.toml").read()\n')
        out.append(c)
    out.insert(1, "class Trap:\n    while True:\n        pass\n")
    return out


EXAMPLES = {
    # file name: (notebook name inside the zip, mutation or None)
    "HW3_Sara_Ahmadi_401234567.zip": ("HW3_P1_RNN_LSTM.ipynb", None),
    "HW3_Ali_Rezaei_401234568.zip": ("RNN_LSTM.ipynb", buggy_dc_prev),
    "HW3_Maryam_Hosseini_401234569.zip": ("P1_RNN_LSTM.ipynb", raising_cell),
    "HW3_Reza_Karimi_401234570.zip": ("Q1_LSTM_RNN.ipynb", endless_loop_and_wu),
    "hw3-final-submission.zip": ("P1_RNN_LSTM.ipynb", None),  # a name the pattern cannot read
    "HW3_Mallory_Hacker_401234599.zip": ("P1_RNN_LSTM.ipynb", hostile),
}


def build(name: str, notebook_name: str, change) -> Path:
    notebook = json.loads((HW3 / "solution" / "P1_RNN_LSTM.ipynb").read_text())
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in code]
    if change is not None:
        sources = change(sources)
    notebook["cells"] = [c for c in notebook["cells"] if c["cell_type"] != "code"]
    for index, source in enumerate(sources):
        notebook["cells"].append({"cell_type": "code", "id": f"code-{index:02d}", "metadata": {}, "outputs": [],
                                  "execution_count": None, "source": source})
    text = json.dumps(notebook, indent=1, ensure_ascii=False)
    folder = name[: -len(".zip")]
    target = HERE / name
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in ((f"{folder}/{notebook_name}", text),
                           (f"{folder}/.ipynb_checkpoints/{notebook_name[:-6]}-checkpoint.ipynb", text),
                           (f"{folder}/rnn_utils.py", (HW3 / "template" / "rnn_utils.py").read_text())):
            archive.writestr(zipfile.ZipInfo(path, FIXED_TIME), data)
    return target


if __name__ == "__main__":
    for file_name, (notebook_name, change) in EXAMPLES.items():
        print("wrote", build(file_name, notebook_name, change).relative_to(HERE.parent))
