"""A synthetic class for `grade similar`: a template, four solutions written independently (each in its
own style), and copies disguised the ways students disguise them.  Used by the tests and by
bench/bench_similar.py."""
from __future__ import annotations

import json
import random
import re
import textwrap
import zipfile
from pathlib import Path

IMPORTS = "import numpy as np\nimport torch\n"
HELPERS = '''
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    e_x = np.exp(x - np.max(x))
    return e_x / e_x.sum(axis=0)
'''
CHECKS = '''
np.random.seed(1)
xt_tmp = np.random.randn(3, 10)
a_prev_tmp = np.random.randn(5, 10)
parameters_tmp = {"Wax": np.random.randn(5, 3), "Waa": np.random.randn(5, 5), "Wya": np.random.randn(2, 5),
                  "ba": np.random.randn(5, 1), "by": np.random.randn(2, 1)}
a_next_tmp, yt_pred_tmp, cache_tmp = rnn_cell_forward(xt_tmp, a_prev_tmp, parameters_tmp)
print("a_next[4] = ", a_next_tmp[4])
print("a_next.shape = ", a_next_tmp.shape)
print("yt_pred[1] =", yt_pred_tmp[1])
print("yt_pred.shape = ", yt_pred_tmp.shape)
'''
SIGNATURES = {
    "rnn_cell_forward": ("def rnn_cell_forward(xt, a_prev, parameters):",
                         '"""One step of the RNN cell: returns a_next, yt_pred and the cache."""'),
    "rnn_forward": ("def rnn_forward(x, a0, parameters):",
                    '"""The RNN over T_x steps: returns a, y_pred and the caches."""'),
    "lstm_cell_forward": ("def lstm_cell_forward(xt, a_prev, c_prev, parameters):",
                          '"""One LSTM step: returns a_next, c_next, yt_pred and the cache."""'),
}

# Four solutions written independently, each as its author would: the bodies of the three functions.
STYLES = [
    {  # the course's own style: unpack the parameters, np.dot, preallocated arrays
        "rnn_cell_forward": '''
            Wax = parameters["Wax"]
            Waa = parameters["Waa"]
            Wya = parameters["Wya"]
            ba = parameters["ba"]
            by = parameters["by"]
            a_next = np.tanh(np.dot(Wax, xt) + np.dot(Waa, a_prev) + ba)
            yt_pred = softmax(np.dot(Wya, a_next) + by)
            cache = (a_next, a_prev, xt, parameters)
            return a_next, yt_pred, cache''',
        "rnn_forward": '''
            caches = []
            n_x, m, T_x = x.shape
            n_y, n_a = parameters["Wya"].shape
            a = np.zeros((n_a, m, T_x))
            y_pred = np.zeros((n_y, m, T_x))
            a_next = a0
            for t in range(T_x):
                a_next, yt_pred, cache = rnn_cell_forward(x[:, :, t], a_next, parameters)
                a[:, :, t] = a_next
                y_pred[:, :, t] = yt_pred
                caches.append(cache)
            caches = (caches, x)
            return a, y_pred, caches''',
        "lstm_cell_forward": '''
            Wf = parameters["Wf"]
            bf = parameters["bf"]
            Wi = parameters["Wi"]
            bi = parameters["bi"]
            Wc = parameters["Wc"]
            bc = parameters["bc"]
            Wo = parameters["Wo"]
            bo = parameters["bo"]
            Wy = parameters["Wy"]
            by = parameters["by"]
            concat = np.concatenate((a_prev, xt), axis=0)
            ft = sigmoid(np.dot(Wf, concat) + bf)
            it = sigmoid(np.dot(Wi, concat) + bi)
            cct = np.tanh(np.dot(Wc, concat) + bc)
            c_next = ft * c_prev + it * cct
            ot = sigmoid(np.dot(Wo, concat) + bo)
            a_next = ot * np.tanh(c_next)
            yt_pred = softmax(np.dot(Wy, a_next) + by)
            cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
            return a_next, c_next, yt_pred, cache''',
    },
    {  # the @ operator, a small helper, lists stacked at the end
        "rnn_cell_forward": '''
            p = parameters
            h = np.tanh(p["Wax"] @ xt + p["Waa"] @ a_prev + p["ba"])
            logits = p["Wya"] @ h + p["by"]
            return h, softmax(logits), (h, a_prev, xt, p)''',
        "rnn_forward": '''
            states, outputs, records = [], [], []
            h = a0
            for step in range(x.shape[2]):
                h, out, record = rnn_cell_forward(x[..., step], h, parameters)
                states.append(h)
                outputs.append(out)
                records.append(record)
            return np.stack(states, axis=-1), np.stack(outputs, axis=-1), (records, x)''',
        "lstm_cell_forward": '''
            p = parameters
            def affine(W, b):
                return W @ np.vstack([a_prev, xt]) + b
            forget = sigmoid(affine(p["Wf"], p["bf"]))
            update = sigmoid(affine(p["Wi"], p["bi"]))
            candidate = np.tanh(affine(p["Wc"], p["bc"]))
            output_gate = sigmoid(affine(p["Wo"], p["bo"]))
            memory = forget * c_prev + update * candidate
            h = output_gate * np.tanh(memory)
            y = softmax(p["Wy"] @ h + p["by"])
            return h, memory, y, (h, memory, a_prev, c_prev, forget, update, candidate, output_gate, xt, p)''',
    },
    {  # einsum, a while loop, gates built in a loop, its own stable softmax
        "rnn_cell_forward": '''
            pre = np.einsum("ij,jm->im", parameters["Wax"], xt) + np.einsum("ij,jm->im", parameters["Waa"], a_prev)
            pre += parameters["ba"]
            activation = np.tanh(pre)
            scores = np.einsum("ij,jm->im", parameters["Wya"], activation) + parameters["by"]
            scores = scores - scores.max(axis=0, keepdims=True)
            probs = np.exp(scores) / np.exp(scores).sum(axis=0, keepdims=True)
            return activation, probs, (activation, a_prev, xt, parameters)''',
        "rnn_forward": '''
            steps = x.shape[2]
            hidden = np.empty((a0.shape[0], x.shape[1], steps))
            predictions = np.empty((parameters["by"].shape[0], x.shape[1], steps))
            history = []
            current = a0.copy()
            t = 0
            while t < steps:
                current, y_t, entry = rnn_cell_forward(x[:, :, t], current, parameters)
                hidden[:, :, t], predictions[:, :, t] = current, y_t
                history.append(entry)
                t += 1
            return hidden, predictions, (history, x)''',
        "lstm_cell_forward": '''
            gates = {}
            stacked = np.concatenate([a_prev, xt])
            for name, act in (("f", sigmoid), ("i", sigmoid), ("c", np.tanh), ("o", sigmoid)):
                gates[name] = act(np.einsum("ij,jm->im", parameters["W" + name], stacked) + parameters["b" + name])
            cell = gates["f"] * c_prev + gates["i"] * gates["c"]
            hidden = gates["o"] * np.tanh(cell)
            z = np.einsum("ij,jm->im", parameters["Wy"], hidden) + parameters["by"]
            e = np.exp(z - z.max(axis=0))
            return hidden, cell, e / e.sum(axis=0), (hidden, cell, a_prev, c_prev, gates["f"], gates["i"],
                                                     gates["c"], gates["o"], xt, parameters)''',
    },
    {  # torch tensors in, numpy out
        "rnn_cell_forward": '''
            W = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in parameters.items()}
            state = torch.tanh(torch.mm(W["Wax"], torch.as_tensor(xt)) + torch.mm(W["Waa"], torch.as_tensor(a_prev))
                               + W["ba"])
            y = torch.softmax(torch.mm(W["Wya"], state) + W["by"], dim=0)
            return state.numpy(), y.numpy(), (state.numpy(), a_prev, xt, parameters)''',
        "rnn_forward": '''
            results = [None] * x.shape[-1]
            state = a0
            for i in range(x.shape[-1]):
                state, prediction, memo = rnn_cell_forward(x[:, :, i], state, parameters)
                results[i] = (state, prediction, memo)
            a = np.moveaxis(np.array([r[0] for r in results]), 0, -1)
            y_pred = np.moveaxis(np.array([r[1] for r in results]), 0, -1)
            return a, y_pred, ([r[2] for r in results], x)''',
        "lstm_cell_forward": '''
            W = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in parameters.items()}
            joined = torch.cat([torch.as_tensor(a_prev), torch.as_tensor(xt)], dim=0)
            f_gate = torch.sigmoid(W["Wf"].matmul(joined) + W["bf"])
            i_gate = torch.sigmoid(W["Wi"].matmul(joined) + W["bi"])
            c_hat = torch.tanh(W["Wc"].matmul(joined) + W["bc"])
            o_gate = torch.sigmoid(W["Wo"].matmul(joined) + W["bo"])
            memory = f_gate * torch.as_tensor(c_prev) + i_gate * c_hat
            out = o_gate * torch.tanh(memory)
            probabilities = torch.softmax(W["Wy"].matmul(out) + W["by"], dim=0)
            pieces = [out, memory, f_gate, i_gate, c_hat, o_gate]
            return out.numpy(), memory.numpy(), probabilities.numpy(), tuple(t.numpy() for t in pieces) + (xt,)''',
    },
]


def function_cell(name: str, body: str | None) -> str:
    signature, docstring = SIGNATURES[name]
    inner = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") if body else "    pass"
    return f"{signature}\n    {docstring}\n    ### START CODE HERE ###\n{inner}\n    ### END CODE HERE ###\n"


def notebook(cells: list[str]) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3"}},
                       "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                                  "source": c} for c in cells]})


def cells_of(bodies: dict[str, str | None], order: list[str] | None = None) -> list[str]:
    order = order or list(SIGNATURES)
    return [IMPORTS, HELPERS] + [function_cell(name, bodies.get(name)) for name in order] + [CHECKS]


def template_cells() -> list[str]:
    return cells_of({})


def renamed(body: str, mapping: dict[str, str]) -> str:
    for old, new in mapping.items():
        body = re.sub(rf"\b{re.escape(old)}\b", new, body)
    return body


def commented(body: str, rng: random.Random) -> str:
    notes = ["# compute this step", "# as in the lecture", "# shapes checked by hand", "# TODO tidy", "# the gate"]
    lines = []
    for line in textwrap.dedent(body).strip("\n").split("\n"):
        indent = line[: len(line) - len(line.lstrip())]
        if rng.random() < 0.6:
            lines.append(f"{indent}{rng.choice(notes)}")
        lines.append(line + (f"  {rng.choice(notes)}" if rng.random() < 0.3 else ""))
        if rng.random() < 0.2:
            lines.append("")
    return "\n".join(lines)


RENAMES = [{"h": "hidden_state", "logits": "z", "states": "hs", "outputs": "ys", "records": "cache_list",
            "forget": "f", "update": "u", "candidate": "cand", "output_gate": "o", "memory": "c_new", "p": "P",
            "affine": "lin", "step": "k", "out": "o_t", "record": "cache_t"},
           {"a_next": "h_new", "yt_pred": "y_hat", "caches": "all_caches", "Wax": "W1", "Waa": "W2", "concat": "z",
            "ft": "gf", "it": "gi", "cct": "gc", "ot": "go", "c_next": "c_new", "cache": "memo", "T_x": "T"}]


def write_submission(folder: Path, name: str, cells: list[str]) -> Path:
    path = folder / f"HW3_{name}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("P1_RNN_LSTM.ipynb", notebook(cells))
    return path


def build_class(folder: Path) -> dict[str, Path]:
    """The class the tests rank: four independent solutions, three disguised copies, two template-only."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    made = {f"Indep{i}_Student_4010000{i}": cells_of(style) for i, style in enumerate(STYLES)}
    made["Exact_Copy_40100010"] = cells_of(STYLES[0])
    made["Renamed_Reordered_40100011"] = cells_of({k: renamed(v, RENAMES[0]) for k, v in STYLES[1].items()},
                                                  order=["lstm_cell_forward", "rnn_forward", "rnn_cell_forward"])
    made["Commented_Copy_40100012"] = cells_of({k: commented(v, rng) for k, v in STYLES[2].items()})
    made["Template_Only_40100013"] = template_cells()
    made["Template_Tweaked_40100014"] = template_cells()[:-1] + [CHECKS.replace("seed(1)", "seed(2)")]
    return {name: write_submission(folder, name, cells) for name, cells in made.items()}


def random_class(folder: Path, size: int, seed: int = 0) -> None:
    """``size`` submissions for the benchmark: each a style, renamed, reordered and commented at random."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for number in range(size):
        style = dict(rng.choice(STYLES))
        for name in style:
            if rng.random() < 0.5:
                style[name] = renamed(style[name], rng.choice(RENAMES))
            if rng.random() < 0.3:
                style[name] = commented(style[name], rng)
        if rng.random() < 0.1:
            style = {}
        order = rng.sample(list(SIGNATURES), len(SIGNATURES))
        write_submission(folder, f"Student_{number:04d}_{40200000 + number}", cells_of(style, order))


def write_template_rubric(folder: Path) -> Path:
    """A rubric whose template is this class's template notebook (the code every student was given)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "template.ipynb").write_text(notebook(template_cells()), encoding="utf-8")
    (folder / "rubric.toml").write_text(
        '[assignment]\nid = "sim"\nsubmission = \'HW3_(?P<first>[^_]+)_(?P<last>[^_]+)_(?P<student_id>\\d+)\\.zip\'\n\n'
        '[[notebooks]]\nname = "p1"\nmatch = ["*.ipynb"]\ntemplate = "template.ipynb"\n\n'
        '[[items]]\nid = "p1.manual"\nkind = "manual"\npoints = 1\n', encoding="utf-8")
    return folder / "rubric.toml"
