"""``module``: the student's ``nn.Module``, built in the kernel and checked two ways.

* Against the reference: the module is built with the rubric's ``init`` arguments and put in eval mode
  with a fixed seed.  The grader chooses every weight (seeded, non-degenerate: no zeros, no ones) and
  puts them into the student's module, mapped onto the reference's parameters by name when the student
  kept the template's attribute names, otherwise by shape when every shape is unique.  The reference
  runs in the grader, in float64, with the same weights on the same inputs.  The student's own
  initial weights are never used: a module that zeroes or overwrites the weights it is given, or ignores
  them, computes something else and fails.  The weights are read back after the forwards; changed
  weights are reported.  The report says which mapping was used.
* Properties that need no weights: ``output_shape``, ``parameter_count``, ``causal`` (changing token j
  changes no output before j), ``permutation_equivariant`` (permuting the tokens permutes the output),
  ``gradients_reach_all`` (every parameter gets a gradient).  They run on the grader's weights too
  when ``parameters`` is given, and none holds vacuously: causality needs a changed token to change an
  output at or after it, equivariance needs outputs that differ between tokens.

Fields: ``target`` (the class), ``init`` (keyword arguments), ``inputs``/``cases`` (a generator of the
forward's arguments), ``token_axis`` (the axis of tokens in the first input with one and in the
output, 1 by default; 2 for iTransformer's variates), ``reference`` (``module:function(params,
*inputs, **reference_args)``; when it returns a tuple, the forward's tuple is compared whole, e.g.
(context, attention weights), whose parts ``outputs`` may name), ``parameters`` (``module:function(**init)`` → {name: shape}),
``properties``, ``rtol``/``atol``.
Partial credit is the share of checks passed.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..execution.bridge import Handle
from ..execution.runner import Call
from ..rubric import FieldError, item_callable
from . import calling
from .base import Check, CheckContext, Verdict
from .cases import configure_cases, make_cases, seeded_rng
from .compare import summary
from .tensors import to_numpy, to_torch

FIELDS = {"target", "init", "inputs", "cases", "reference", "reference_args", "parameters", "properties", "token_axis",
          "outputs", "rtol", "atol"}
PROPERTIES = ("output_shape", "parameter_count", "causal", "permutation_equivariant", "gradients_reach_all")


def map_parameters(student: dict[str, tuple], expected: dict[str, tuple]) -> tuple[dict | None, str]:
    """The student's parameter name for each of the reference's names: by name, else by unique shapes;
    None if neither.  ``student`` and ``expected`` map names to shapes."""
    student = {name: tuple(shape) for name, shape in student.items()}
    if set(expected) <= set(student) and all(student[k] == tuple(v) for k, v in expected.items()):
        return {name: name for name in expected}, "by the template's names"
    shapes = [tuple(v) for v in expected.values()]
    if len(set(shapes)) == len(shapes) and sorted(shapes) == sorted(student.values()):
        by_shape = {shape: name for name, shape in student.items()}
        return {name: by_shape[tuple(shape)] for name, shape in expected.items()}, "by shape (the names differ)"
    return None, ("the module's parameters do not match the reference's: expected "
                  + ", ".join(f"{k} {tuple(v)}" for k, v in expected.items()) + "; found "
                  + ", ".join(f"{k} {v}" for k, v in student.items()))


def changed_weights(weights: dict, after: Any) -> list[str]:
    """The module's parameters that no longer hold the grader's weights (all of them if unreadable)."""
    if not isinstance(after, dict):
        return ["its parameters can no longer be read"]
    return [student for name, student in weights["names"].items()
            if student not in after or np.shape(after[student]) != weights["values"][name].shape
            or not np.array_equal(np.asarray(after[student], dtype=np.float32), weights["values"][name])]


def chosen_weights(shapes: dict[str, tuple], *seed: str) -> dict[str, np.ndarray]:
    """Weights the grader chooses, float32, by the reference's names: a matrix ~ N(0, 1/fan_in) so
    activations keep their scale, a vector ±U(0.5, 1.5) so no gain is 1 and no bias is 0 — a module whose
    output does not depend on them, or that replaces them, cannot match the reference."""
    rng = seeded_rng(*seed, "weights")
    weights = {}
    for name, shape in shapes.items():
        shape = tuple(int(n) for n in shape)
        if len(shape) >= 2:
            values = rng.standard_normal(shape) / np.sqrt(max(int(np.prod(shape[1:])), 1))
        else:
            values = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
        weights[name] = values.astype(np.float32)
    return weights


def named(names: list[str], values: Any) -> Any:
    """A returned tuple keyed by the rubric's names for its parts, so feedback says which is wrong."""
    if isinstance(values, (tuple, list)) and len(values) == len(names):
        return dict(zip(names, values))
    return values


def float32(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(np.float32)
    if isinstance(value, dict):
        return {k: float32(v) for k, v in value.items()}
    return value


def reference_inputs(args: dict) -> list:
    """The inputs the student's module saw (float32), widened to float64 for the reference (tensors)."""
    import torch

    return [torch.from_numpy(value.astype(np.float64)) if value.dtype.kind == "f" else torch.from_numpy(value)
            for value in (np.asarray(v) for v in float32(args).values())]


class ModuleCheck(Check):
    kind = "module"

    @classmethod
    def configure(cls, table: dict, rubric) -> dict:
        calling.reject_unknown(table, FIELDS)
        generator, count = configure_cases({"cases": 2, **table}, rubric)
        init = table.get("init", {})
        if not isinstance(init, dict):
            raise FieldError("init", "must be a table of the constructor's keyword arguments")
        properties = table.get("properties", [])
        if not isinstance(properties, list) or any(p not in PROPERTIES for p in properties):
            raise FieldError("properties", f"must list some of {', '.join(PROPERTIES)}")
        reference = item_callable(table, "reference", rubric) if "reference" in table else None
        parameters = item_callable(table, "parameters", rubric) if "parameters" in table else None
        if (reference or "parameter_count" in properties) and parameters is None:
            raise FieldError("parameters", "is needed to map weights onto the reference and to count them")
        if reference is None and not properties:
            raise FieldError("reference", "give a reference, some properties, or both")
        reference_args = table.get("reference_args", {})
        if not isinstance(reference_args, dict):
            raise FieldError("reference_args", "must be a table of keyword arguments for the reference")
        outputs = table.get("outputs")
        if outputs is not None and (not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs)):
            raise FieldError("outputs", "must name the values the forward returns")
        token_axis = table.get("token_axis", 1)
        if not isinstance(token_axis, int) or isinstance(token_axis, bool) or token_axis < 1:
            raise FieldError("token_axis", "must be an axis ≥ 1 (axis 0 is the batch)")
        return {"target": calling.identifier(table, "target"), "init": init, "generator": generator, "cases": count,
                "reference": reference, "reference_args": reference_args, "parameters": parameters,
                "properties": tuple(properties), "token_axis": token_axis, "outputs": outputs,
                "tolerance": calling.tolerance({"rtol": 1e-4, "atol": 1e-5, **table})}

    def run(self, context: CheckContext) -> Verdict:
        config = context.item.config
        runner = context.runner
        handle = Handle(f"module/{context.item.id}")
        built = runner.call(config["target"], [], kwargs=config["init"], keep=handle.id)
        if built.status == "missing":
            return calling.missing_function(context, config["target"], built.message)
        if built.status not in ("ok", "invalid"):  # "invalid": the module itself cannot cross, as expected
            return Verdict(0.0, "error", f"building {config['target']}(**{config['init']}) failed: {built.message}")
        runner.call(handle, [], op="eval")
        cases = make_cases(context.rubric.id, context.item.id, config["generator"], config["cases"])
        weights, problem = self._load_weights(context, handle) if config["parameters"] else (None, None)
        output, failure = self._forward(context, handle, cases[0].args)
        if failure or not isinstance(output, np.ndarray):  # a blank forward earns nothing, not its properties
            why = failure or f"returned {'None' if output is None else type(output).__name__}, not a tensor"
            return Verdict(0.0, "failed", f"the forward of {config['target']} on {cases[0].label} {why}: "
                           "nothing else can be checked", {"weights_mapped": getattr(self, "mapping", None)})
        results: list[tuple[str, str | None]] = []  # (check, problem)
        if config["reference"] is not None:
            results.append(("values", problem or self._against_reference(context, handle, cases, weights)))
        for prop in config["properties"]:  # on the first case, whose output the probe above already has
            results.append((prop, getattr(self, "_" + prop)(context, handle, cases[0], output)))
        passed = sum(problem is None for _, problem in results)
        problems = [f"{check}: {problem}" for check, problem in results if problem]
        details = {"checks": {check: problem or "ok" for check, problem in results},
                   "weights_mapped": getattr(self, "mapping", None)}
        if not problems:
            return Verdict(1.0, "passed", f"all {len(results)} checks passed ({', '.join(c for c, _ in results)})", details)
        fraction = passed / len(results)
        return Verdict(fraction, "partial" if fraction else "failed", "; ".join(problems), details)

    # --- against the reference ---------------------------------------------------------------------

    def _forward(self, context, handle, args, whole: bool = False) -> tuple[Any, str | None]:
        return self._output(context.runner.call_many([self._forward_call(handle, args)])[0], whole)

    @staticmethod
    def _forward_call(handle, args) -> Call:
        return Call(handle, list(float32(args).values()), tensors=True)

    @staticmethod
    def _output(result, whole: bool) -> tuple[Any, str | None]:
        """The forward's output: its first value when it returns several, unless ``whole``."""
        if not result.ok:
            return None, result.message
        value = result.value
        if not whole and isinstance(value, (tuple, list)) and value:
            value = value[0]
        return value, None

    def _reference(self, config, params, args) -> Any:
        return to_numpy(config["reference"](params, *reference_inputs(args), **config["reference_args"]))

    def _load_weights(self, context, handle) -> tuple[dict | None, str | None]:
        """The grader's weights, put into the student's module: (weights by the reference's names, the
        module's name for each), or why they cannot be."""
        config = context.item.config
        read = context.runner.call(handle, [], op="parameters")
        if not read.ok or not isinstance(read.value, dict):
            return None, f"the module's parameters cannot be read: {read.message}"
        expected = config["parameters"](**config["init"])
        names, how = map_parameters({name: np.shape(value) for name, value in read.value.items()}, expected)
        if names is None:
            return None, how
        self.mapping = how
        weights = chosen_weights(expected, context.rubric.id, context.item.id)
        loaded = context.runner.call(handle, [{names[name]: value for name, value in weights.items()}],
                                     op="load_parameters", tensors=True)
        if not loaded.ok:
            return None, f"the grader's weights cannot be put into the module: {loaded.message}"
        return {"values": weights, "names": names}, None

    def _against_reference(self, context, handle, cases, weights) -> str | None:
        config = context.item.config
        params = to_torch({name: value.astype(np.float64) for name, value in weights["values"].items()})
        calls = [self._forward_call(handle, case.args) for case in cases] + [Call(handle, [], op="parameters")]
        results = context.runner.call_many(calls)
        for case, result in zip(cases, results):  # fewer results after a hang or a crash: the last says so
            expected = self._reference(config, params, case.args)
            actual, problem = self._output(result, whole=isinstance(expected, tuple))
            if problem:
                return f"{case.label}: {problem}"
            if config["outputs"] and isinstance(expected, tuple):
                expected, actual = named(config["outputs"], expected), named(config["outputs"], actual)
            difference = summary(expected, actual, config["tolerance"])
            if difference:
                return f"{case.label}: {difference} (the grader's weights, mapped {self.mapping})"
        after = results[-1].value if len(results) > len(cases) and results[-1].ok else None
        changed = changed_weights(weights, after)
        if changed:
            return (f"the forward changed the weights the grader put into the module ({', '.join(changed[:3])}): "
                    "a module must compute with its parameters, not replace them")
        return None

    # --- properties ----------------------------------------------------------------------------------

    def _output_shape(self, context, handle, case, actual) -> str | None:
        config = context.item.config
        if config["reference"] is None:
            return None
        shapes = config["parameters"](**config["init"])
        params = to_torch({name: np.zeros(shape) for name, shape in shapes.items()})
        expected = self._reference(config, params, case.args)
        expected = tuple(np.shape(expected[0] if isinstance(expected, tuple) else expected))
        return None if tuple(np.shape(actual)) == expected else f"expected {expected}, got {tuple(np.shape(actual))}"

    def _parameter_count(self, context, handle, case, first) -> str | None:
        config = context.item.config
        weights = context.runner.call(handle, [], op="parameters")
        if not weights.ok or not isinstance(weights.value, dict):
            return f"the module's parameters cannot be read: {weights.message}"
        expected = sum(int(np.prod(shape)) for shape in config["parameters"](**config["init"]).values())
        actual = sum(int(np.asarray(v).size) for v in weights.value.values())
        return None if actual == expected else f"{actual} parameters, expected {expected}"

    def _token_args(self, case, axis: int) -> tuple[str, np.ndarray] | tuple[None, None]:
        for name, value in case.args.items():
            if isinstance(value, np.ndarray) and value.ndim > axis:
                return name, value
        return None, None

    def _output_with(self, context, handle, case, first, name, tokens) -> tuple[np.ndarray | None, str | None]:
        """The output with the input ``name`` replaced by ``tokens``, shaped as ``first`` with a token axis."""
        axis = context.item.config["token_axis"]
        after, problem = self._forward(context, handle, {**case.args, name: tokens})
        if problem:
            return None, problem
        after = np.asarray(after)
        if first.shape != after.shape or first.ndim <= axis:
            return None, f"the output's shape {first.shape} has no token axis {axis}"
        return after, None

    def _causal(self, context, handle, case, before) -> str | None:
        axis = context.item.config["token_axis"]
        name, tokens = self._token_args(case, axis)
        if name is None or tokens.shape[axis] < 2:
            return "no input with a token axis to test causality on"
        j = tokens.shape[axis] // 2
        changed = np.moveaxis(tokens.copy(), axis, 0)
        # a fresh token, not a shift: LayerNorm would cancel adding a constant to every feature
        changed[j] = (changed[j] + 1) if changed.dtype.kind in "iu" else \
            np.random.default_rng(1).standard_normal(changed[j].shape)
        after, problem = self._output_with(context, handle, case, before, name, np.moveaxis(changed, 0, axis))
        if problem:
            return problem
        earlier = np.take(before, range(j), axis=axis), np.take(after, range(j), axis=axis)
        if not np.allclose(*earlier, rtol=1e-5, atol=1e-6):
            return f"changing token {j} changed outputs before it: the model sees the future"
        later = np.take(before, range(j, before.shape[axis]), axis=axis), np.take(after, range(j, after.shape[axis]), axis=axis)
        if np.allclose(*later, rtol=1e-5, atol=1e-6):  # a module that ignores its input is trivially causal
            return f"changing token {j} changed no output at all: the output does not depend on the input"
        return None

    def _permutation_equivariant(self, context, handle, case, before) -> str | None:
        axis = context.item.config["token_axis"]
        name, tokens = self._token_args(case, axis)
        if name is None:
            return "no input with a token axis to permute"
        order = np.random.default_rng(0).permutation(tokens.shape[axis])
        after, problem = self._output_with(context, handle, case, before, name, np.take(tokens, order, axis=axis))
        if problem:
            return problem
        if np.allclose(before, np.take(before, [0], axis=axis), rtol=1e-4, atol=1e-5):
            return "every token has the same output: equivariance cannot be seen (the output ignores the tokens)"
        same = np.allclose(np.take(before, order, axis=axis), after, rtol=1e-4, atol=1e-5)
        return None if same else "permuting the tokens does not just permute the output"

    def _gradients_reach_all(self, context, handle, case, first) -> str | None:
        result = context.runner.call(handle, list(float32(case.args).values()), tensors=True, op="gradient_flow")
        if not result.ok:
            return result.message
        dead = [n for n in result.value if isinstance(n, str)] if isinstance(result.value, list) else []
        return None if not dead else f"no gradient reaches {', '.join(dead[:5])}"
