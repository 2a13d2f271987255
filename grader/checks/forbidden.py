"""``forbidden``: ready-made APIs an item forbids (hw3's bonus: ``torch.nn.Transformer*``,
``torch.nn.MultiheadAttention``, ``torch.nn.functional.scaled_dot_product_attention``), found twice:

* in the code: every code cell of the notebook, with ``import … as`` and ``from … import … as``
  aliases resolved and ``getattr(module, "Name")`` counted; the report names the cell and the line;
* at run time (when the item names a ``target`` and ``inputs``): the student's function runs with the
  kernel's profiler on, in its own thread and every thread it starts, and every function it calls,
  Python or C, is matched against the patterns; a torch dispatch mode records every aten operator too,
  so ``torch.ops.aten.*`` and ``torch._C`` entry points, which have no Python name, are matched by the
  operators only a forbidden API runs (``SIGNATURES``; a rubric may also list ``aten.*`` patterns).
  What the call does that cannot be followed (a process, a thread that slipped past, work handed to a
  thread that ran before the call, more functions than the trace holds) is a finding, not a pass.

Fields: ``forbidden`` and ``allowed`` (fnmatch patterns of qualified names; allowed wins), and the
optional ``target``, ``inputs``, ``cases``, ``tensors`` of a run-time check (with ``init``, the target is
a class: it is built with those keyword arguments and its forward is run).  All or nothing.
"""
from __future__ import annotations

import fnmatch

from ..execution.cells import cell_source, without_magics
from ..execution.runner import read_notebook
from ..rubric import FieldError
from . import calling
from .base import Check, CheckContext, Verdict
from .cases import configure_cases, make_cases
from .code_names import qualified_uses
from .conventions import with_aliases
from .module import float32
from ..execution.bridge import Handle
from ..execution.runner import Call

FIELDS = {"forbidden", "allowed", "target", "init", "inputs", "cases", "tensors"}
# switching the profiler off would hide a forbidden call from the run-time check: using it is reported
TAMPERING = ("sys.setprofile", "sys.settrace", "threading.setprofile", "threading.settrace")


# The aten operators that only the ready-made API runs (CPU and CUDA kernels alike): what a call of it
# through ``torch.ops.aten`` or ``torch._C`` leaves at the dispatch level.  Operators a hand-written
# version also runs (mm, bmm, exp, sum, ...) are not signatures.
SIGNATURES = {
    "torch.nn.functional.scaled_dot_product_attention": ("aten.scaled_dot_product_attention",
                                                         "aten._scaled_dot_product_*", "aten._flash_attention_*",
                                                         "aten._efficient_attention_*",
                                                         "aten._safe_softmax"),  # the math backend's
    "torch.nn.functional.multi_head_attention_forward": ("aten._native_multi_head_attention",),
    "torch.nn.MultiheadAttention": ("aten._native_multi_head_attention",),
    "torch.nn.TransformerEncoderLayer": ("aten._transformer_encoder_layer_fwd",),
    "torch.nn.TransformerEncoder": ("aten._transformer_encoder_layer_fwd", "aten._nested_tensor_from_mask*"),
    "torch.nn.functional.softmax": ("aten._softmax", "aten.softmax"),
    "torch.softmax": ("aten._softmax", "aten.softmax"),
    "torch.nn.functional.log_softmax": ("aten._log_softmax", "aten.log_softmax"),
    "torch.nn.LSTM": ("aten.lstm", "aten.mkldnn_rnn_layer", "aten._thnn_fused_lstm_cell", "aten.lstm_cell"),
    "torch.nn.LSTMCell": ("aten.lstm_cell", "aten._thnn_fused_lstm_cell"),
    "torch.nn.GRU": ("aten.gru", "aten.gru_cell", "aten._thnn_fused_gru_cell"),
    "torch.nn.GRUCell": ("aten.gru_cell", "aten._thnn_fused_gru_cell"),
    "torch.nn.RNN": ("aten.rnn_tanh", "aten.rnn_relu", "aten.rnn_tanh_cell", "aten.rnn_relu_cell"),
    "torch.nn.functional.layer_norm": ("aten.native_layer_norm", "aten.layer_norm"),
    "torch.nn.LayerNorm": ("aten.native_layer_norm", "aten.layer_norm"),
    "torch.nn.functional.embedding": ("aten.embedding",),
    "torch.nn.Embedding": ("aten.embedding",),
    "torch.nn.functional.cross_entropy": ("aten.cross_entropy_loss",),
    "torch.nn.CrossEntropyLoss": ("aten.cross_entropy_loss",),
    "torch.nn.functional.batch_norm": ("aten.native_batch_norm", "aten._native_batch_norm_legit*", "aten.batch_norm"),
    "torch.nn.functional.conv2d": ("aten.convolution", "aten._convolution", "aten.conv2d", "aten.mkldnn_convolution"),
    "torch.nn.Conv2d": ("aten.convolution", "aten._convolution", "aten.conv2d", "aten.mkldnn_convolution"),
}
SIGNATURES["torch.nn.Transformer"] = SIGNATURES["torch.nn.TransformerEncoder"] + ("aten._native_multi_head_attention",)
UNOBSERVABLE = "<"  # what the agent names a thing it could not follow
WARM_TRACE_S = 30


def operator_patterns(forbidden: tuple[str, ...], allowed: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The aten operator patterns that betray a forbidden API, and those an allowed API accounts for."""
    def signatures(patterns):
        found = [p for p in patterns if p.startswith("aten.")]
        for api, operators in SIGNATURES.items():
            if any(fnmatch.fnmatchcase(api, p) or matches(api, (p,)) for p in patterns if not p.startswith("aten.")):
                found += operators
        return tuple(dict.fromkeys(found))
    return signatures(forbidden), signatures(allowed)


def forbidden_at_run_time(name: str, config: dict) -> bool:
    if name.startswith(UNOBSERVABLE):
        return True
    if name.startswith("aten."):
        return any(fnmatch.fnmatchcase(name, p) for p in config["operators"]) and \
            not any(fnmatch.fnmatchcase(name, p) for p in config["allowed_operators"])
    return bool(matches(name, config["forbidden"])) and not matches(name, config["allowed"])


def matches(name: str, patterns: tuple[str, ...]) -> str | None:
    """The pattern ``name`` falls under.  A traced name such as
    ``torch.nn.modules.activation.MultiheadAttention.forward`` matches ``torch.nn.MultiheadAttention``
    by its package and class; a C function ``torch._C._nn.scaled_dot_product_attention`` matches
    ``torch.nn.functional.scaled_dot_product_attention`` by its package and name."""
    parts = name.split(".")
    for pattern in patterns:
        if fnmatch.fnmatchcase(name, pattern) or any(fnmatch.fnmatchcase(".".join(parts[:i]), pattern)
                                                      for i in range(1, len(parts))):
            return pattern
        top, last = pattern.split(".")[0], pattern.split(".")[-1]
        if parts[0] == top and any(fnmatch.fnmatchcase(part, last) for part in parts[1:]) and last[:1].isupper():
            return pattern  # a class: any method of it
        if parts[0] == top and fnmatch.fnmatchcase(parts[-1], last) and not last[:1].isupper():
            return pattern  # a function, wherever torch defines it
    return None


class ForbiddenCheck(Check):
    kind = "forbidden"

    @classmethod
    def configure(cls, table: dict, rubric) -> dict:
        calling.reject_unknown(table, FIELDS)
        patterns = {}
        for key in ("forbidden", "allowed"):
            value = table.get(key, [] if key == "allowed" else None)
            if not isinstance(value, list) or (key == "forbidden" and not value) or not all(isinstance(v, str) for v in value):
                raise FieldError(key, "must list qualified names or patterns such as 'torch.nn.Transformer*'")
            patterns[key] = tuple(value)
        init = table.get("init")
        if init is not None and not isinstance(init, dict):
            raise FieldError("init", "must be a table of the class's keyword arguments")
        operators, allowed_operators = operator_patterns(patterns["forbidden"], patterns["allowed"])
        config = {**patterns, "operators": operators, "allowed_operators": allowed_operators,
                  "target": calling.identifier(table, "target", required=False), "generator": None,
                  "cases": 1, "tensors": calling.flag(table, "tensors") or init is not None, "init": init}
        if config["target"]:
            config["generator"], config["cases"] = configure_cases({"cases": 1, **table}, rubric)
        return config

    def run(self, context: CheckContext) -> Verdict:
        config = context.item.config
        found = []
        cells, _ = read_notebook(context.runner.path)
        aliases: dict[str, str] = {}
        for index, cell in enumerate(cells, start=1):
            if cell.get("cell_type") != "code":
                continue
            uses, aliases = qualified_uses(without_magics(cell_source(cell)), aliases)
            for use in uses:
                if (matches(use.name, config["forbidden"]) and not matches(use.name, config["allowed"])) \
                        or use.name in TAMPERING:
                    found.append(f"cell {index}, line {use.line}: {use.name}")
        runtime, problem = self._trace(context) if config["target"] else ([], None)
        if problem and not found:  # nothing ran: "no forbidden call" would be an empty claim
            return Verdict(0.0, "failed", f"the run-time check could not run {config['target']}(): {problem}")
        if not found and not runtime:
            checked = "the code" + (f" and a run of {config['target']}()" if config["target"] else "")
            return Verdict(1.0, "passed", f"no forbidden API in {checked}")
        unique = list(dict.fromkeys(found))
        hidden = [name.strip("<>") for name in runtime if name.startswith(UNOBSERVABLE)]
        called = [name for name in runtime if not name.startswith(UNOBSERVABLE)]
        parts = ([f"uses {'; '.join(unique[:3])}" + (f" (+{len(unique) - 3} more)" if len(unique) > 3 else "")]
                 if unique else []) + ([f"at run time {config['target']}() called {', '.join(called[:3])}"] if called else []) \
            + ([f"at run time {config['target']}() did what the grader cannot check: {'; '.join(hidden)}"] if hidden else [])
        return Verdict(0.0, "failed", "forbidden API: " + "; ".join(parts), {"in_code": unique, "at_run_time": runtime})

    @staticmethod
    def _trace(context: CheckContext) -> tuple[list[str], str | None]:
        """The forbidden functions the target called, and why it could not run (if it could not)."""
        config = context.item.config
        seen: list[str] = []
        problem = None
        target = config["target"]
        # the trace's first use imports torch's tracing machinery (about a second): not the student's time
        context.runner.call(target, [], op="warm_trace", timeout_s=WARM_TRACE_S)
        if config["init"] is not None:  # a class: build it, then run its forward
            target = Handle(f"forbidden/{context.item.id}")
            built = context.runner.call(config["target"], [], kwargs=config["init"], keep=target.id, trace=True)
            if built.status not in ("ok", "invalid"):
                return [], built.message
            seen += [n for n in built.traced if forbidden_at_run_time(n, config)]
            context.runner.call(target, [], op="eval")
        cases = make_cases(context.rubric.id, context.item.id, config["generator"], config["cases"])
        calls = [Call(target, list(with_aliases(float32(case.args) if config["init"] is not None else case.args,
                                                context.rubric.aliases).values()), tensors=config["tensors"], trace=True)
                 for case in cases]
        for result in context.runner.call_many(calls):
            if not result.ok or result.value is None:
                problem = problem or (result.message or "it returned nothing")
            for name in result.traced:
                if forbidden_at_run_time(name, config) and name not in seen:
                    seen.append(name)
        return seen, problem
