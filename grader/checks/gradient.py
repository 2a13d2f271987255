"""``gradient``: a student's backward function, checked two ways.

* ``method = "reference"`` (default): the expected gradients are autograd of the reference forward at
  the same inputs.  The backward is called with the upstream gradients and a cache: the one the
  reference forward builds (so a wrong forward never costs the backward its points), or, when
  ``student_forward`` names the student's forward, the one the student's own forward builds at the same
  inputs (courses like CS231n, where every student designs their cache).
* ``method = "finite-differences"``: needs no reference, so it can be public.  The student's forward
  builds the cache (kept in the kernel under a handle), the student's backward runs on it, and a few
  entries of every gradient are compared with central differences of the student's own forward.

Fields: ``target`` (the backward), ``forward`` (reference ``module:function``; for the reference
method), ``student_forward``, ``inputs``/``cases``, ``upstream`` (indices of the forward's outputs whose
upstream gradients are the backward's first arguments), ``cache`` (index of the forward output passed
last), ``grads`` (table: gradient name = input path such as ``"xt"`` or ``"parameters.Wf"``),
``returns`` (the names of the values the backward returns, in order, for a backward that returns a
tuple such as ``dx, dprev_h, dWx, dWh, db``; without it the backward returns a dict keyed by the
``grads`` names), ``rtol``/``atol``, ``all_or_nothing``, ``probes`` and ``epsilon``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..execution.bridge import Handle
from ..execution.runner import Call
from ..rubric import FieldError, Generator, item_callable
from . import calling
from .base import Check, CheckContext, Planned, Verdict
from .cases import Case, configure_cases, seeded_rng
from .compare import Tolerance, first_difference
from .conventions import canonical, with_aliases
from .tensors import to_numpy, to_torch

METHODS = ("reference", "finite-differences")
FIELDS = {"target", "forward", "student_forward", "method", "inputs", "cases", "upstream", "cache", "grads",
          "returns", "rtol", "atol", "ignore_size1_axes", "all_or_nothing", "probes", "epsilon"}


@dataclass(frozen=True)
class GradientConfig:
    target: str
    method: str
    forward: Callable | None
    student_forward: str | None
    generator: Generator
    cases: int
    upstream: tuple[int, ...]
    cache: int
    grads: dict[str, tuple[str, ...]]
    returns: tuple[str, ...] | None
    tolerance: Tolerance
    all_or_nothing: bool
    probes: int
    epsilon: float


def resolve(args: dict, path: tuple[str, ...]) -> Any:
    value = args
    for step in path:
        value = value[step]
    return value


def replaced(args: dict, path: tuple[str, ...], new: Any) -> dict:
    """A copy of ``args`` with the value at ``path`` replaced (the rest shared, dicts copied on the way)."""
    result = dict(args)
    if len(path) == 1:
        result[path[0]] = new
    else:
        result[path[0]] = replaced(args[path[0]], path[1:], new)
    return result


@dataclass(frozen=True)
class ReferenceGradients:
    """Autograd of the reference forward at one case."""

    expected: dict        # gradient name -> array
    upstream: list        # the upstream gradients the backward receives first
    cache: Any            # the reference forward's cache; None when the student's own forward builds it
    outputs: list         # the reference forward's outputs that receive the upstream gradients


def vanished(expected: Any, actual: Any) -> bool:
    """A gradient that is zero (or missing) where the reference's is not."""
    if not isinstance(actual, np.ndarray):
        return True
    return bool(np.any(np.asarray(expected) != 0)) and not bool(np.any(actual != 0))


def reference_gradients(config: GradientConfig, args: dict, rng: np.random.Generator) -> ReferenceGradients:
    """Autograd of the reference forward at ``args`` under random upstream gradients drawn from ``rng``."""
    import torch

    inputs = to_torch(args, requires_grad=True)
    outputs = config.forward(*inputs.values())
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    upstream = [rng.standard_normal(tuple(outputs[i].shape)) for i in config.upstream]
    loss = sum((outputs[i] * torch.from_numpy(g)).sum() for i, g in zip(config.upstream, upstream))
    leaves = [resolve(inputs, path) for path in config.grads.values()]
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    expected = {name: (torch.zeros_like(leaf) if g is None else g).numpy()
                for name, leaf, g in zip(config.grads, leaves, grads)}
    cache = None if config.student_forward else to_numpy(outputs[config.cache])
    return ReferenceGradients(expected, upstream, cache, [to_numpy(outputs[i]) for i in config.upstream])


def named_gradients(value: Any, returns: tuple[str, ...] | None) -> Any:
    """The backward's result keyed by gradient name: a returned tuple is named by ``returns``."""
    return value if returns is None else calling.graded_outputs(value, returns, None)


class GradientCheck(Check):
    kind = "gradient"

    @classmethod
    def configure(cls, table: dict, rubric) -> GradientConfig:
        calling.reject_unknown(table, FIELDS)
        generator, count = configure_cases(table, rubric)
        method = table.get("method", "reference")
        if method not in METHODS:
            raise FieldError("method", f"must be one of {', '.join(METHODS)}")
        forward = None
        if method == "reference":
            forward = item_callable(table, "forward", rubric)
        student_forward = calling.identifier(table, "student_forward", required=method != "reference")
        upstream = table.get("upstream")
        if not isinstance(upstream, list) or not upstream or not all(isinstance(i, int) and i >= 0 for i in upstream):
            raise FieldError("upstream", "must list the indices of the forward outputs that receive a gradient")
        cache = table.get("cache")
        if not isinstance(cache, int) or cache < 0:
            raise FieldError("cache", "must be the index of the forward output passed to the backward")
        grads = table.get("grads")
        if not isinstance(grads, dict) or not grads or not all(isinstance(v, str) and v for v in grads.values()):
            raise FieldError("grads", "must map each returned gradient key to an input path such as 'parameters.Wf'")
        returns = calling.names(table, "returns")
        if returns and not set(grads) <= set(returns):
            unnamed = ", ".join(sorted(set(grads) - set(returns)))
            raise FieldError("grads", f"names {unnamed}, which 'returns' does not list ({', '.join(returns)})")
        probes = table.get("probes", 3)
        epsilon = table.get("epsilon", 1e-6)
        if not isinstance(probes, int) or probes < 1:
            raise FieldError("probes", "must be a positive integer")
        if not isinstance(epsilon, float) or not 0 < epsilon < 1:
            raise FieldError("epsilon", "must be a small positive number")
        default_tolerance = {"rtol": 1e-4, "atol": 1e-6} if method == "finite-differences" else {}
        return GradientConfig(calling.identifier(table, "target"), method, forward, student_forward, generator,
                              count, tuple(upstream), cache, {k: tuple(v.split(".")) for k, v in grads.items()},
                              returns, calling.tolerance({**default_tolerance, **table}),
                              calling.flag(table, "all_or_nothing"), probes, epsilon)

    @classmethod
    def rehearse(cls, config: GradientConfig, args: dict) -> None:
        for name, path in config.grads.items():
            try:
                value = resolve(args, path)
            except (KeyError, TypeError, IndexError):
                raise FieldError("grads", f"{name} = '{'.'.join(path)}' names no input of the generator "
                                          f"(its inputs: {', '.join(args)})") from None
            if not (isinstance(value, np.ndarray) and value.dtype.kind == "f"):
                raise FieldError("grads", f"{name} = '{'.'.join(path)}' is not a floating-point array, so it has "
                                          "no gradient")
        if config.forward is None:
            return
        try:
            import torch

            outputs = config.forward(*to_torch(list(args.values())))
        except Exception as exc:  # a course's code
            raise FieldError("forward", f"raised {type(exc).__name__}: {exc} on the smallest case") from None
        count = len(outputs) if isinstance(outputs, (tuple, list)) else 1
        wanted = [("upstream", i) for i in config.upstream] + ([] if config.student_forward else [("cache", config.cache)])
        for field_name, index in wanted:
            if index >= count:
                raise FieldError(field_name, f"index {index}, but the forward returns {count} output"
                                             f"{'s' if count != 1 else ''}")
        for index in config.upstream:
            output = outputs[index] if isinstance(outputs, (tuple, list)) else outputs
            if not (isinstance(output, torch.Tensor) and output.is_floating_point()):
                raise FieldError("upstream", f"output {index} of the forward is not a floating-point tensor")

    def plan(self, context: CheckContext) -> Planned | None:
        config: GradientConfig = context.item.config
        if config.method == "finite-differences":  # its calls depend on the answers before them
            return None
        return calling.planned_cases(context, config.generator, config.cases, config.all_or_nothing,
                                     lambda case: self._calls(context, case),
                                     lambda case, value: self._judge(context, case, value), method=config.method)

    def run(self, context: CheckContext) -> Verdict:
        config: GradientConfig = context.item.config
        if config.method == "finite-differences":
            return calling.run_cases(context, config.generator, config.cases, config.all_or_nothing,
                                     lambda case, tally: self._against_differences(context, case, tally),
                                     method=config.method)
        return super().run(context)

    # --- against autograd of the reference forward --------------------------------------------------

    def _calls(self, context: CheckContext, case: Case) -> Call | list[Call]:
        """The backward's call, after the student's forward when that builds the cache."""
        config: GradientConfig = context.item.config
        aliases = context.rubric.aliases
        reference = self._expected(context, case)
        if config.student_forward is None:
            return Call(config.target, with_aliases([*reference.upstream, reference.cache], aliases))
        handle = f"{context.item.id}/{case.index}"
        return [Call(config.student_forward, list(with_aliases(case.args, aliases).values()), keep=handle, pick=()),
                Call(config.target, [*reference.upstream, Handle(handle)[config.cache]])]

    def _judge(self, context: CheckContext, case: Case, value: Any) -> str | calling.PassedWithNote | None:
        config: GradientConfig = context.item.config
        try:
            actual = named_gradients(canonical(value, context.rubric.aliases), config.returns)
        except ValueError as exc:
            return f"{config.target}() {exc}"
        reference = self._expected(context, case)
        problem = calling.judged(reference.expected, actual, config.tolerance)
        if not isinstance(problem, str) or config.student_forward is None:
            return problem
        return self._against_own_forward(context, case, actual, reference) or problem

    def _against_own_forward(self, context: CheckContext, case: Case, actual: Any,
                             reference: ReferenceGradients) -> calling.PassedWithNote | None:
        """A backward that differs from the reference's gradients is still right if the student's own
        forward differs from the reference and the backward is its derivative: the forward's item loses
        the points, not this one too.  Checked by central differences of the student's forward."""
        config: GradientConfig = context.item.config
        own = context.runner.call(config.student_forward, list(with_aliases(case.args, context.rubric.aliases).values()),
                                  pick=config.upstream)
        try:
            outputs = [own.value[i] for i in config.upstream] if own.ok else None
        except (TypeError, IndexError, KeyError):
            outputs = None
        if outputs is None or first_difference(reference.outputs, outputs, config.tolerance) is None:
            return None  # the forward is right (or broken): the backward is what is wrong
        if not isinstance(actual, dict) or any(vanished(reference.expected.get(name), actual.get(name))
                                              for name in config.grads):
            return None  # a zero gradient agrees with a forward that ignores its input: no credit from that
        rng = seeded_rng(context.rubric.id, context.item.id, str(case.index), "probes")
        tolerance = Tolerance(max(config.tolerance.rtol, 1e-4), max(config.tolerance.atol, 1e-6))
        for name, path in config.grads.items():
            if self._probe(context, case, actual, name, path, reference.upstream, rng, tolerance)[0]:
                return None
        return calling.PassedWithNote(f"your backward is the derivative of your own {config.student_forward}(), "
                                      "which differs from the reference: that costs the forward's item, not this one")

    @staticmethod
    def _expected(context: CheckContext, case: Case) -> ReferenceGradients:
        config: GradientConfig = context.item.config
        key = (context.rubric.values_version, context.item.id, case.index)
        if key not in context.expected_cache:
            rng = seeded_rng(context.rubric.id, context.item.id, str(case.index), "upstream")
            context.expected_cache[key] = reference_gradients(config, case.args, rng)
        return context.expected_cache[key]

    # --- against finite differences of the student's own forward ------------------------------------

    def _against_differences(self, context: CheckContext, case: Case, tally: calling.CaseTally) -> Verdict | None:
        config: GradientConfig = context.item.config
        runner, aliases = context.runner, context.rubric.aliases
        handle = f"{context.item.id}/{case.index}"
        forward = runner.call(config.student_forward, list(with_aliases(case.args, aliases).values()), keep=handle,
                              pick=config.upstream)
        if forward.status == "missing":
            return calling.missing_function(context, config.student_forward, forward.message)
        if not forward.ok:
            tally.record_call_failure(case.label, forward)
            return None
        try:
            upstream_shapes = [np.shape(forward.value[i]) for i in config.upstream]
        except (TypeError, IndexError, KeyError):
            tally.record(case.label, f"{config.student_forward}() does not return the outputs the backward needs")
            return None
        rng = seeded_rng(context.rubric.id, context.item.id, str(case.index), "upstream")
        upstream = [rng.standard_normal(shape) for shape in upstream_shapes]
        backward = runner.call(config.target, [*upstream, Handle(handle)[config.cache]])
        if backward.status == "missing":
            return calling.missing_function(context, config.target, backward.message)
        if not backward.ok:
            tally.record_call_failure(case.label, backward)
            return None
        try:
            grads = named_gradients(canonical(backward.value, aliases), config.returns)
        except ValueError as exc:
            tally.record(case.label, f"{config.target}() {exc}")
            return None
        for name, path in config.grads.items():
            problem, errored = self._probe(context, case, grads, name, path, upstream, rng, config.tolerance)
            if problem:
                tally.record(case.label, problem, errored)
                return None
        tally.record(case.label, None)
        return None

    def _probe(self, context, case, grads, name, path, upstream, rng, tolerance) -> tuple[str | None, bool]:
        """Compare a few entries of one gradient with central differences of the student's forward, all
        its calls in one request: (problem, was it an error)."""
        config: GradientConfig = context.item.config
        if not isinstance(grads, dict) or name not in grads:
            return f"the returned gradients have no '{name}'", False
        point = np.asarray(resolve(case.args, path), dtype=np.float64)
        gradient = np.asarray(grads[name]) if isinstance(grads[name], np.ndarray) else None
        if gradient is None or gradient.shape != point.shape:
            got = "no array" if gradient is None else f"shape {gradient.shape}"
            return f"{name}: expected shape {point.shape} (the shape of {'.'.join(path)}), got {got}", False
        indices = [np.unravel_index(int(flat), point.shape)
                   for flat in rng.choice(point.size, size=min(config.probes, point.size), replace=False)]
        calls = []
        for index in indices:
            for sign in (1, -1):
                moved = point.copy()
                moved[index] += sign * config.epsilon
                args = with_aliases(replaced(case.args, path, moved), context.rubric.aliases)
                calls.append(Call(config.student_forward, list(args.values()), pick=config.upstream))
        results = context.runner.call_many(calls)
        for number, index in enumerate(indices):
            losses = []
            for result in results[2 * number:2 * number + 2]:
                if not result.ok:
                    return f"{config.student_forward}() failed while probing {name}: {result.message}", True
                try:
                    losses.append(sum(float(np.sum(np.asarray(result.value[i]) * g))
                                      for i, g in zip(config.upstream, upstream)))
                except (TypeError, ValueError, IndexError, KeyError):
                    return f"{config.student_forward}() returned outputs of another shape when {name} moved", False
            if len(losses) < 2:
                return f"{config.student_forward}() stopped answering while probing {name}", True
            numeric = (losses[0] - losses[1]) / (2 * config.epsilon)
            if first_difference(np.float64(numeric), gradient[index], tolerance):
                where = [int(i) for i in index]
                return (f"{name}{where} = {float(gradient[index]):.6g} but finite differences of your forward give "
                        f"{numeric:.6g}"), False
        return None, False
