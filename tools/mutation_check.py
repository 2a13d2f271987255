"""Break each reference in one small, plausible way and check that its proving test fails.

    python tools/mutation_check.py          # prints one line per mutation; exit 1 if any survives

Each mutation is (file, exact text, replacement, test file).  The file is restored afterwards.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTATIONS = [
    ("reference/attention.py", "(1 / math.sqrt(q.shape[-1])", "(1 / q.shape[-1]", "test_reference_attention.py"),
    ("reference/attention.py", "torch.ones(n_q, n_k, dtype=torch.bool).tril(diagonal=n_k - n_q)",
     "torch.ones(n_q, n_k, dtype=torch.bool).tril(diagonal=n_k - n_q + 1)", "test_reference_attention.py"),
    ("reference/attention.py", "return values[int(torch.argmax(keys @ q))]", "return values[int(torch.argmin(keys @ q))]",
     "test_reference_attention.py"),
    ("reference/attention.py", "(p[\"W_v\"][:, columns] @ p[\"W_o\"][columns, :])", "(p[\"W_v\"][:, columns] @ p[\"W_o\"][:, columns].T)",
     "test_reference_attention.py"),
    ("reference/attention.py", "return torch.kron(weights, W_v.T.contiguous())", "return torch.kron(weights, W_v.contiguous())",
     "test_reference_attention.py"),
    ("reference/positional.py", "encoding[:, 0::2], encoding[:, 1::2] = torch.sin(angles), torch.cos(angles)",
     "encoding[:, 0::2], encoding[:, 1::2] = torch.cos(angles), torch.sin(angles)", "test_reference_positional_proofs.py"),
    ("reference/positional.py", "rotated_second = first * sin + second * cos", "rotated_second = -first * sin + second * cos",
     "test_reference_positional_proofs.py"),
    ("reference/positional.py", "return [2 ** (-8 * i / n) for i in range(1, n + 1)]",
     "return [2 ** (-8 * i / n) for i in range(0, n)]", "test_reference_positional_proofs.py"),
    ("reference/proofs.py", "Sum(1, (i, 1, D)),", "Sum(2, (i, 1, D)),", "test_reference_positional_proofs.py"),
    ("reference/proofs.py", "other = 1 / (sympy.exp(s) + N - 1)", "other = 1 / (sympy.exp(s) + N)",
     "test_reference_positional_proofs.py"),
    ("reference/counting.py", "return 4 * (d * d + (d if c.bias else 0))", "return 4 * d * d + (d if c.bias else 0)",
     "test_reference_counting.py"),
    ("reference/counting.py", "\"decoder_layer_norms\": spec.decoder_blocks * 3 * norm",
     "\"decoder_layer_norms\": spec.decoder_blocks * 2 * norm", "test_reference_counting.py"),
    ("reference/transformer.py", "return (x - mean) / torch.sqrt(variance + EPS) * p[\"g\"] + p[\"b\"]",
     "return (x - mean) / torch.sqrt(variance) * p[\"g\"] + p[\"b\"]", "test_reference_transformer.py"),
    ("reference/transformer.py", "to_mask = selected & (choice < 0.8)", "to_mask = selected & (choice < 0.7)",
     "test_reference_transformer.py"),
    ("reference/transformer.py", "mixed = residual * identity + (1 - residual) * averaged", "mixed = averaged",
     "test_reference_transformer.py"),
    ("reference/transformer.py", "return series.transpose(1, 2) @ W + b", "return series.transpose(1, 2).flip(1) @ W + b",
     "test_reference_transformer.py"),
    ("reference/recurrent.py", "return (1 - z) * n + z * h", "return z * n + (1 - z) * h", "test_reference_recurrent.py"),
    ("reference/recurrent.py", "c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)",
     "c_next = torch.sigmoid(i) * c + torch.sigmoid(f) * torch.tanh(g)", "test_reference_recurrent.py"),
    ("reference/hw3_rnn.py", "\"dc_prev\": dc * ft}", "\"dc_prev\": (dc_next + da_next * ot) * ft}", "test_reference_recurrent.py"),
    ("reference/hw3_rnn.py", "grads = lstm_cell_backward(da_next + p[\"Wy\"].T @ dz, dc_next, cache)",
     "grads = lstm_cell_backward(da_next, dc_next, cache)", "test_reference_recurrent.py"),
    ("reference/hw3_rnn.py", "it = torch.sigmoid(p[\"Wi\"] @ concat + p[\"bi\"])", "it = torch.sigmoid(p[\"Wi\"] @ concat)",
     "test_reference_hw3.py"),
    ("reference/hw5_bptt.py", "return torch.linalg.matrix_power(W_hh.T, t - i) @ W_yh.T", "return torch.linalg.matrix_power(W_hh, t - i) @ W_yh.T",
     "test_reference_recurrent.py"),
    ("grader/checks/scores.py", "return covariance / math.sqrt(spread_pred * spread_true)",
     "return covariance / (spread_pred * spread_true) ** 0.25", "test_reference_metrics_text.py"),
    ("reference/text.py", "head = word[:2] if word[:2] in pairs else word[0]", "head = word[0]", "test_reference_metrics_text.py"),
    ("reference/text.py", "return text[dot] == \".\" and dot >= 1", "return False and dot >= 1", "test_reference_metrics_text.py"),
]


def main() -> int:
    survivors = 0
    for relative, old, new, test in MUTATIONS:
        path = ROOT / relative
        original = path.read_text()
        if original.count(old) != 1:
            print(f"STALE    {relative}: {old!r} not found exactly once")
            survivors += 1
            continue
        path.write_text(original.replace(old, new))
        try:
            result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                                     f"tests/{test}"], cwd=ROOT, capture_output=True, text=True)
        finally:
            path.write_text(original)
        caught = result.returncode != 0
        survivors += not caught
        print(f"{'caught  ' if caught else 'SURVIVED'} {relative}: {new[:70]}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
