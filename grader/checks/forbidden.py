"""``forbidden``: ready-made APIs an item forbids (hw3's bonus: ``torch.nn.Transformer*``,
``torch.nn.MultiheadAttention``, ``torch.nn.functional.scaled_dot_product_attention``), found twice:

* in the code: every code cell of the notebook, with ``import … as`` and ``from … import … as``
  aliases resolved and ``getattr(module, "Name")`` counted; the report names the cell and the line;
* at run time (when the item names a ``target`` and ``inputs``): the student's function runs with the
  kernel's profiler on, and every function it calls, Python or C, is matched against the patterns.

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
        config = {**patterns, "target": calling.identifier(table, "target", required=False), "generator": None,
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
        parts = ([f"uses {'; '.join(unique[:3])}" + (f" (+{len(unique) - 3} more)" if len(unique) > 3 else "")]
                 if unique else []) + ([f"at run time {config['target']}() called {', '.join(runtime[:3])}"] if runtime else [])
        return Verdict(0.0, "failed", "forbidden API: " + "; ".join(parts), {"in_code": unique, "at_run_time": runtime})

    @staticmethod
    def _trace(context: CheckContext) -> tuple[list[str], str | None]:
        """The forbidden functions the target called, and why it could not run (if it could not)."""
        config = context.item.config
        seen: list[str] = []
        problem = None
        target = config["target"]
        if config["init"] is not None:  # a class: build it, then run its forward
            target = Handle(f"forbidden/{context.item.id}")
            built = context.runner.call(config["target"], [], kwargs=config["init"], keep=target.id, trace=True)
            if built.status not in ("ok", "invalid"):
                return [], built.message
            seen += [n for n in built.traced if matches(n, config["forbidden"]) and not matches(n, config["allowed"])]
            context.runner.call(target, [], op="eval")
        cases = make_cases(context.rubric.id, context.item.id, config["generator"], config["cases"])
        calls = [Call(target, list(with_aliases(float32(case.args) if config["init"] is not None else case.args,
                                                context.rubric.aliases).values()), tensors=config["tensors"], trace=True)
                 for case in cases]
        for result in context.runner.call_many(calls):
            if not result.ok or result.value is None:
                problem = problem or (result.message or "it returned nothing")
            for name in result.traced:
                if matches(name, config["forbidden"]) and not matches(name, config["allowed"]) and name not in seen:
                    seen.append(name)
        return seen, problem
