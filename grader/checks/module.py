"""``module``: the student's ``nn.Module``, built in the kernel and checked two ways.

* Against the reference: the module is built with the rubric's ``init`` arguments, put in eval mode
  with a fixed seed, and its parameters are copied out (npz).  They are mapped onto the reference's
  parameters — by name when the student kept the template's attribute names, otherwise by shape when
  every shape is unique — and the reference runs in the grader, in float64, with those very weights on
  the same inputs.  The report says which mapping was used.
* Properties that need no weights: ``output_shape``, ``parameter_count``, ``causal`` (changing token j
  changes no output before j), ``permutation_equivariant`` (permuting the tokens permutes the output),
  ``gradients_reach_all`` (every parameter gets a gradient).

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
from .cases import configure_cases, make_cases
from .compare import summary
from .tensors import to_numpy, to_torch

FIELDS = {"target", "init", "inputs", "cases", "reference", "reference_args", "parameters", "properties", "token_axis",
          "outputs", "rtol", "atol"}
PROPERTIES = ("output_shape", "parameter_count", "causal", "permutation_equivariant", "gradients_reach_all")


def map_parameters(student: dict[str, np.ndarray], expected: dict[str, tuple]) -> tuple[dict | None, str]:
    """Student arrays keyed by the reference's names: by name, else by unique shapes; None if neither."""
    if set(expected) <= set(student) and all(tuple(student[k].shape) == tuple(v) for k, v in expected.items()):
        return {name: student[name] for name in expected}, "by the template's names"
    shapes = [tuple(v) for v in expected.values()]
    student_shapes = [tuple(v.shape) for v in student.values()]
    if len(set(shapes)) == len(shapes) and sorted(shapes) == sorted(student_shapes):
        by_shape = {tuple(v.shape): v for v in student.values()}
        return {name: by_shape[tuple(shape)] for name, shape in expected.items()}, "by shape (the names differ)"
    return None, ("the module's parameters do not match the reference's: expected "
                  + ", ".join(f"{k} {tuple(v)}" for k, v in expected.items()) + "; found "
                  + ", ".join(f"{k} {tuple(v.shape)}" for k, v in student.items()))


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
        results: list[tuple[str, str | None]] = []  # (check, problem)
        if config["reference"] is not None:
            results.append(("values", self._against_reference(context, handle, cases)))
        for prop in config["properties"]:
            results.append((prop, getattr(self, "_" + prop)(context, handle, cases[0])))
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

    def _against_reference(self, context, handle, cases) -> str | None:
        config = context.item.config
        weights = context.runner.call(handle, [], op="parameters")
        if not weights.ok or not isinstance(weights.value, dict):
            return f"the module's parameters cannot be read: {weights.message}"
        expected_shapes = config["parameters"](**config["init"])
        mapped, how = map_parameters(weights.value, expected_shapes)
        if mapped is None:
            return how
        self.mapping = how
        params = to_torch({name: np.asarray(value) for name, value in mapped.items()})
        results = context.runner.call_many([self._forward_call(handle, case.args) for case in cases])
        for case, result in zip(cases, results):  # fewer results after a hang or a crash: the last says so
            expected = self._reference(config, params, case.args)
            actual, problem = self._output(result, whole=isinstance(expected, tuple))
            if problem:
                return f"{case.label}: {problem}"
            if config["outputs"] and isinstance(expected, tuple):
                expected, actual = named(config["outputs"], expected), named(config["outputs"], actual)
            difference = summary(expected, actual, config["tolerance"])
            if difference:
                return f"{case.label}: {difference} (weights mapped {how})"
        return None

    # --- properties ----------------------------------------------------------------------------------

    def _output_shape(self, context, handle, case) -> str | None:
        config = context.item.config
        actual, problem = self._forward(context, handle, case.args)
        if problem:
            return problem
        if config["reference"] is None:
            return None if isinstance(actual, np.ndarray) else "the forward does not return a tensor"
        shapes = config["parameters"](**config["init"])
        params = to_torch({name: np.zeros(shape) for name, shape in shapes.items()})
        expected = self._reference(config, params, case.args)
        expected = tuple(np.shape(expected[0] if isinstance(expected, tuple) else expected))
        return None if tuple(np.shape(actual)) == expected else f"expected {expected}, got {tuple(np.shape(actual))}"

    def _parameter_count(self, context, handle, case) -> str | None:
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

    def _causal(self, context, handle, case) -> str | None:
        axis = context.item.config["token_axis"]
        name, tokens = self._token_args(case, axis)
        if name is None or tokens.shape[axis] < 2:
            return "no input with a token axis to test causality on"
        j = tokens.shape[axis] // 2
        changed = np.moveaxis(tokens.copy(), axis, 0)
        # a fresh token, not a shift: LayerNorm would cancel adding a constant to every feature
        changed[j] = (changed[j] + 1) if changed.dtype.kind in "iu" else \
            np.random.default_rng(1).standard_normal(changed[j].shape)
        before, problem = self._forward(context, handle, case.args)
        after, problem2 = self._forward(context, handle, {**case.args, name: np.moveaxis(changed, 0, axis)})
        if problem or problem2:
            return problem or problem2
        earlier = np.take(np.asarray(before), range(j), axis=axis), np.take(np.asarray(after), range(j), axis=axis)
        same = np.allclose(*earlier, rtol=1e-5, atol=1e-6)
        return None if same else f"changing token {j} changed outputs before it: the model sees the future"

    def _permutation_equivariant(self, context, handle, case) -> str | None:
        axis = context.item.config["token_axis"]
        name, tokens = self._token_args(case, axis)
        if name is None:
            return "no input with a token axis to permute"
        order = np.random.default_rng(0).permutation(tokens.shape[axis])
        before, problem = self._forward(context, handle, case.args)
        after, problem2 = self._forward(context, handle, {**case.args, name: np.take(tokens, order, axis=axis)})
        if problem or problem2:
            return problem or problem2
        same = np.allclose(np.take(np.asarray(before), order, axis=axis), np.asarray(after), rtol=1e-4, atol=1e-5)
        return None if same else "permuting the tokens does not just permute the output"

    def _gradients_reach_all(self, context, handle, case) -> str | None:
        result = context.runner.call(handle, list(float32(case.args).values()), tensors=True, op="gradient_flow")
        if not result.ok:
            return result.message
        dead = [n for n in result.value if isinstance(n, str)] if isinstance(result.value, list) else []
        return None if not dead else f"no gradient reaches {', '.join(dead[:5])}"
