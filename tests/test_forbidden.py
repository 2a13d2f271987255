"""``forbidden``: ready-made APIs found in the code (aliases resolved) and at run time (the student's
function profiled in the kernel), with allowed ones left alone."""
import pytest

from grader import rubric as rubric_module
from grader.checks.code_names import qualified_uses
from grader.checks.forbidden import matches
from grader.grading import grade

from helpers import notebook_text, write_zip

FORBIDDEN = ("torch.nn.Transformer*", "torch.nn.MultiheadAttention", "torch.nn.functional.scaled_dot_product_attention")
RUBRIC = '''
[assignment]
id = "bonus"
[[notebooks]]
name = "nb"
match = ["*.ipynb"]
mode = "definitions"
[generators.qkv]
function = "refs.py:qkv"
dims = { n = [3, 5] }

[[items]]
id = "no_ready_attention"
kind = "forbidden"
points = 2
notebook = "nb"
forbidden = ["torch.nn.Transformer*", "torch.nn.MultiheadAttention", "torch.nn.functional.scaled_dot_product_attention"]
allowed = ["torch.nn.LayerNorm"]
target = "attend"
inputs = "qkv"
tensors = true
'''
REFS = "def qkv(rng, n):\n    return {'q': rng.standard_normal((n, 4)), 'k': rng.standard_normal((n, 4)), 'v': rng.standard_normal((n, 4))}\n"
HONEST = ("import torch\nimport torch.nn as nn\nnorm = nn.LayerNorm(4)\n"
          "def attend(q, k, v):\n    w = torch.softmax(q @ k.T / 2, dim=-1)\n    return w @ v")


@pytest.fixture
def bonus(write_rubric):
    return rubric_module.load(write_rubric(RUBRIC, {"refs.py": REFS}))


def verdict(tmp_path, rubric, *cells):
    report = grade(write_zip(tmp_path / "s.zip", {"work.ipynb": notebook_text(*cells)}), rubric)
    return report.items[0]


@pytest.mark.parametrize("code, expected", [
    ("import torch.nn as nn\nlayer = nn.MultiheadAttention(4, 2)", "torch.nn.MultiheadAttention"),
    ("from torch import nn\nnn.TransformerEncoderLayer(4, 2)", "torch.nn.TransformerEncoderLayer"),
    ("from torch.nn.functional import scaled_dot_product_attention as sdpa\nsdpa(q, k, v)",
     "torch.nn.functional.scaled_dot_product_attention"),
    ("import torch.nn.functional as F\nF.scaled_dot_product_attention(q, k, v)", "torch.nn.functional.scaled_dot_product_attention"),
    ("import torch\ncls = getattr(torch.nn, 'Transformer')", "torch.nn.Transformer"),
    ("def f():\n    import torch.nn as tnn\n    return tnn.MultiheadAttention", "torch.nn.MultiheadAttention"),
])
def test_aliases_are_resolved(code, expected):
    uses, _ = qualified_uses(code)
    assert any(use.name == expected for use in uses), [u.name for u in uses]
    assert matches(expected, FORBIDDEN)


def test_matching_covers_traced_names_and_leaves_allowed_and_own_names_alone():
    assert matches("torch.nn.modules.activation.MultiheadAttention.forward", FORBIDDEN)
    assert matches("torch._C._nn.scaled_dot_product_attention", FORBIDDEN)
    assert not matches("__main__.scaled_dot_product_attention", FORBIDDEN)  # the student's own function
    assert not matches("torch.nn.modules.normalization.LayerNorm.forward", FORBIDDEN)
    assert not matches("torch.nn.functional.softmax", FORBIDDEN)


def test_hand_written_attention_with_allowed_layer_norm_passes(tmp_path, bonus):
    item = verdict(tmp_path, bonus, HONEST)
    assert (item.status, item.score) == ("passed", 2) and "a run of attend()" in item.feedback


def test_forbidden_api_in_the_code_names_the_cell_and_line(tmp_path, bonus):
    item = verdict(tmp_path, bonus, HONEST, "import torch.nn.functional as F\n\ndef unused(q, k, v):\n"
                   "    return F.scaled_dot_product_attention(q, k, v)")
    assert item.status == "failed" and item.score == 0
    assert "cell 2, line 4: torch.nn.functional.scaled_dot_product_attention" in item.feedback


def test_hidden_use_is_caught_at_run_time(tmp_path, bonus):
    sneaky = ("import torch\nname = 'scaled_dot_' + 'product_attention'\n"
              "def attend(q, k, v):\n    fn = getattr(torch.nn.functional, name)\n"
              "    return fn(q[None], k[None], v[None])[0]")
    item = verdict(tmp_path, bonus, sneaky)
    assert item.status == "failed" and "at run time attend() called" in item.feedback
    assert any("scaled_dot_product_attention" in name for name in item.details["at_run_time"])


def test_switching_the_profiler_off_is_reported(tmp_path, bonus):
    item = verdict(tmp_path, bonus, HONEST.replace("def attend(q, k, v):\n", "import sys\ndef attend(q, k, v):\n    sys.setprofile(None)\n"))
    assert item.status == "failed" and "sys.setprofile" in item.feedback
