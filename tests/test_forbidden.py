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


HIDDEN_SDPA = "getattr(torch.nn.functional, 'scaled_dot_' + 'product_attention')"


@pytest.mark.parametrize("label, cells, expected", [
    ("a thread the call starts",
     ["import torch, threading\ndef attend(q, k, v):\n    out = []\n"
      f"    t = threading.Thread(target=lambda: out.append({HIDDEN_SDPA}(q[None], k[None], v[None])[0]))\n"
      "    t.start(); t.join()\n    return out[0]"], "scaled_dot_product_attention"),
    ("a thread pool started before the call",
     ["import torch\nfrom concurrent.futures import ThreadPoolExecutor\npool = ThreadPoolExecutor(1)\n"
      "pool.submit(lambda: None).result()",
      f"def attend(q, k, v):\n    return pool.submit(lambda: {HIDDEN_SDPA}(q[None], k[None], v[None])[0]).result()"],
     "waited on a thread that was running before it"),
    ("torch.ops.aten", ["import torch\ndef attend(q, k, v):\n"
                        "    return getattr(torch.ops.aten, 'scaled_dot_product_' + 'attention')(q[None], k[None], v[None])[0]"],
     "scaled_dot_product_attention"),
    ("torch._C", ["import torch\ndef attend(q, k, v):\n"
                  "    return getattr(torch._C._nn, 'scaled_dot_product_' + 'attention')(q[None], k[None], v[None])[0]"],
     "scaled_dot_product_attention"),
    ("a raw thread", ["import torch, _thread, time\ndef attend(q, k, v):\n    out = []\n"
                      f"    _thread.start_new_thread(lambda: out.append({HIDDEN_SDPA}(q[None], k[None], v[None])[0]), ())\n"
                      "    while not out:\n        time.sleep(0.01)\n    return out[0]"],
     "a thread started by the call that the grader could not follow"),
])
def test_forbidden_calls_hidden_from_the_python_trace_are_caught(tmp_path, bonus, label, cells, expected):
    item = verdict(tmp_path, bonus, *cells)
    assert item.status == "failed" and item.score == 0, (label, item.feedback)
    assert expected in item.feedback, (label, item.feedback)
    if "could not follow" not in expected and "waited" not in expected:  # seen below any Python name too, by the operator only it runs
        assert any(name.startswith(("aten._scaled_dot_product", "aten._safe_softmax"))
                   for name in item.details["at_run_time"]), label


def test_an_honest_thread_is_followed_and_passes(tmp_path, bonus):
    threaded = ("import torch, threading\ndef attend(q, k, v):\n    out = []\n"
                "    t = threading.Thread(target=lambda: out.append(torch.softmax(q @ k.T / 2, dim=-1) @ v))\n"
                "    t.start(); t.join()\n    return out[0]")
    item = verdict(tmp_path, bonus, threaded)
    assert (item.status, item.score) == ("passed", 2), item.feedback


def test_operator_signatures_follow_the_forbidden_and_allowed_apis():
    from grader.checks.forbidden import forbidden_at_run_time, operator_patterns

    operators, allowed = operator_patterns(FORBIDDEN, ("torch.nn.LayerNorm",))
    config = {"forbidden": FORBIDDEN, "allowed": ("torch.nn.LayerNorm",), "operators": operators,
              "allowed_operators": allowed}
    assert forbidden_at_run_time("aten._scaled_dot_product_flash_attention_for_cpu", config)
    assert forbidden_at_run_time("aten._native_multi_head_attention", config)
    assert forbidden_at_run_time("aten._transformer_encoder_layer_fwd", config)
    assert not forbidden_at_run_time("aten.native_layer_norm", config)   # LayerNorm is allowed
    assert not forbidden_at_run_time("aten._softmax", config)            # softmax is not forbidden here
    assert not forbidden_at_run_time("aten.bmm", config)
    assert forbidden_at_run_time("<a process started by the call: what it ran cannot be followed>", config)
    softmax_only = operator_patterns(("torch.nn.functional.softmax", "aten.bmm"), ())[0]
    assert "aten._softmax" in softmax_only and "aten.bmm" in softmax_only
