"""``module``: the student's nn.Module against the reference with its own weights, and its properties."""
import pytest

from grader import rubric as rubric_module
from grader.grading import grade

from helpers import notebook_text, write_zip

RUBRIC = '''
[assignment]
id = "gpt"
[[notebooks]]
name = "nb"
match = ["*.ipynb"]
mode = "definitions"
[generators.tokens]
function = "refs.py:embedded"
dims = { B = [1, 3], T = [3, 6] }

[[items]]
id = "head"
kind = "module"
points = 4
notebook = "nb"
target = "Head"
init = { n_embd = 8, head_size = 4 }
inputs = "tokens"
reference = "refs.py:head"
parameters = "refs.py:head_parameters"
properties = ["output_shape", "parameter_count", "causal", "gradients_reach_all"]

[[items]]
id = "ffn"
kind = "module"
points = 2
notebook = "nb"
target = "FeedForward"
init = { n_embd = 8 }
inputs = "tokens"
reference = "refs.py:ffn"
parameters = "refs.py:ffn_parameters"
properties = ["permutation_equivariant"]
'''
REFS = '''
import torch

def embedded(rng, B, T):
    return {"x": rng.standard_normal((B, T, 8))}

def head_parameters(n_embd, head_size):
    return {name: (head_size, n_embd) for name in ("key.weight", "query.weight", "value.weight")}

def head(p, x):
    k, q, v = x @ p["key.weight"].T, x @ p["query.weight"].T, x @ p["value.weight"].T
    scores = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
    T = x.shape[1]
    scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool).tril() == 0, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v

def ffn_parameters(n_embd):
    return {"net.0.weight": (4 * n_embd, n_embd), "net.0.bias": (4 * n_embd,), "net.2.weight": (n_embd, 4 * n_embd),
            "net.2.bias": (n_embd,)}

def ffn(p, x):
    return torch.relu(x @ p["net.0.weight"].T + p["net.0.bias"]) @ p["net.2.weight"].T + p["net.2.bias"]
'''
IMPORTS = "import torch\nimport torch.nn as nn\nfrom torch.nn import functional as F"
HEAD = '''
class Head(nn.Module):
    def __init__(self, n_embd, head_size):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(64, 64)))
        self.dropout = nn.Dropout(0.5)

    def forward(self, x):
        B, T, C = x.shape
        k, q = self.key(x), self.query(x)
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        wei = self.dropout(F.softmax(wei, dim=-1))
        return wei @ self.value(x)
'''
FFN = '''
class FeedForward(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.fc_in = nn.Linear(n_embd, 4 * n_embd)
        self.fc_out = nn.Linear(4 * n_embd, n_embd)

    def forward(self, x):
        return self.fc_out(torch.relu(self.fc_in(x)))
'''


@pytest.fixture
def gpt(write_rubric):
    return rubric_module.load(write_rubric(RUBRIC, {"refs.py": REFS}))


def graded(tmp_path, rubric, *cells):
    report = grade(write_zip(tmp_path / "s.zip", {"gpt.ipynb": notebook_text(IMPORTS, *cells)}), rubric)
    return {item.id: item for item in report.items}


def test_a_correct_module_passes_every_check_with_dropout_off(tmp_path, gpt):
    items = graded(tmp_path, gpt, HEAD, FFN)
    head, ffn = items["head"], items["ffn"]
    assert (head.status, head.score) == ("passed", 4), head.feedback
    assert head.details["weights_mapped"] == "by the template's names"
    assert (ffn.status, ffn.score) == ("passed", 2), ffn.feedback
    assert ffn.details["weights_mapped"] == "by shape (the names differ)"  # fc_in/fc_out, not net.0/net.2


def test_a_head_that_sees_the_future_fails_the_values_and_causality(tmp_path, gpt):
    leaky = HEAD.replace('        wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))\n', "")
    head = graded(tmp_path, gpt, leaky, FFN)["head"]
    assert head.status == "partial" and head.score == pytest.approx(4 * 3 / 5)
    assert "causal: changing token" in head.feedback and "values: case 1" in head.feedback


def test_wrong_scaling_and_a_parameter_without_gradient(tmp_path, gpt):
    wrong = HEAD.replace("k.shape[-1] ** -0.5", "C ** -0.5").replace(
        '        self.dropout = nn.Dropout(0.5)\n', '        self.dropout = nn.Dropout(0.5)\n        self.unused = nn.Linear(2, 2)\n')
    head = graded(tmp_path, gpt, wrong, FFN)["head"]
    checks = head.details["checks"]
    assert checks["causal"] == "ok" and "no gradient reaches unused.weight" in checks["gradients_reach_all"]
    assert "values wrong" in checks["values"]                        # C ** -0.5 instead of head_size ** -0.5
    assert checks["parameter_count"] == "102 parameters, expected 96"  # the unused layer is counted


def test_missing_or_broken_modules_are_errors(tmp_path, gpt):
    items = graded(tmp_path, gpt, FFN)
    assert items["head"].status == "error" and "Head is not defined" in items["head"].feedback
    broken = HEAD.replace("super().__init__()", "super().__init__()\n        raise RuntimeError('not yet')")
    items = graded(tmp_path, gpt, broken, FFN)
    assert items["head"].status == "error" and "not yet" in items["head"].feedback


def test_parameters_that_match_neither_by_name_nor_by_shape_are_named(tmp_path, gpt):
    renamed = HEAD.replace("self.key", "self.k").replace("self.query", "self.q").replace("self.value", "self.v")
    head = graded(tmp_path, gpt, renamed, FFN)["head"]
    assert "parameters do not match the reference's" in head.details["checks"]["values"]
    assert head.details["checks"]["causal"] == "ok"


ZEROED_HEAD = HEAD.replace('        self.dropout = nn.Dropout(0.5)\n', '''        self.dropout = nn.Dropout(0.5)
        for p in self.parameters():
            nn.init.zeros_(p)
''').replace("        return wei @ self.value(x)", "        return torch.zeros(B, T, self.value.out_features)")
OVERWRITING_FFN = FFN.replace("    def forward(self, x):\n", '''    def forward(self, x):
        with torch.no_grad():
            for p in self.parameters():
                p.zero_()
''')
IDENTITY_FFN = FFN.replace("        return self.fc_out(torch.relu(self.fc_in(x)))", "        return x + 0 * self.fc_out(self.fc_in(x))")


def test_the_grader_chooses_the_weights_a_module_that_zeroes_its_own_gets_no_value_credit(tmp_path, gpt):
    head = graded(tmp_path, gpt, ZEROED_HEAD, FFN)["head"]
    checks = head.details["checks"]
    assert "values wrong" in checks["values"] and "the grader's weights" in checks["values"]
    assert "does not depend on the input" in checks["causal"]       # all zeros: causal only vacuously
    assert checks["gradients_reach_all"] != "ok"                   # no gradient reaches the weights
    assert head.score <= 4 * 2 / 5                                  # shape and count are all it has


def test_a_forward_that_overwrites_its_weights_or_ignores_them_fails(tmp_path, gpt):
    ffn = graded(tmp_path, gpt, HEAD, OVERWRITING_FFN)["ffn"]
    assert ffn.score == 0 and "values wrong" in ffn.details["checks"]["values"]
    assert "every token has the same output" in ffn.details["checks"]["permutation_equivariant"]
    ffn = graded(tmp_path, gpt, HEAD, IDENTITY_FFN)["ffn"]
    assert "values wrong" in ffn.details["checks"]["values"]      # the identity is equivariant, and wrong


def test_chosen_weights_are_seeded_and_never_trivial():
    from grader.checks.module import chosen_weights

    shapes = {"w": (32, 8), "b": (32,), "g": (8,)}
    first, again = chosen_weights(shapes, "r", "i"), chosen_weights(shapes, "r", "i")
    assert all((first[k] == again[k]).all() and first[k].dtype == "float32" for k in shapes)
    assert not (chosen_weights(shapes, "r", "other")["w"] == first["w"]).all()
    assert all(0.5 <= abs(v) <= 1.5 for k in ("b", "g") for v in first[k])
    assert abs(first["w"].std() - 8 ** -0.5) < 0.1


def test_weights_a_forward_changes_are_reported_even_when_the_values_pass(tmp_path, gpt):
    nudging = FFN.replace("        return self.fc_out(torch.relu(self.fc_in(x)))", """        out = self.fc_out(torch.relu(self.fc_in(x)))
        with torch.no_grad():  # one float32 step: within tolerance, but not the grader's weight
            w = self.fc_out.weight
            w[0, 0] = torch.nextafter(w[0, 0], torch.tensor(10.0))
        return out""")
    ffn = graded(tmp_path, gpt, HEAD, nudging)["ffn"]
    assert "changed the weights the grader put into the module (fc_out.weight)" in ffn.details["checks"]["values"]
