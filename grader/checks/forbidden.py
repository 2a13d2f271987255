"""``forbidden``: ready-made APIs an item forbids (hw3's bonus: ``torch.nn.Transformer*``,
``torch.nn.MultiheadAttention``, ``torch.nn.functional.scaled_dot_product_attention``), found twice:

* in the code: every code cell of the notebook, with ``import … as`` and ``from … import … as``
  aliases resolved and ``getattr(module, "Name")`` counted; the report names the cell and the line;
* at run time (when the item names a ``target`` and ``inputs``): the student's function runs with the
  kernel's profiler on, and every function it calls, Python or C, is matched against the patterns.

Fields: ``forbidden`` and ``allowed`` (fnmatch patterns of qualified names; allowed wins), and the
optional ``target``, ``inputs``, ``cases``, ``tensors`` of a run-time check.  All or nothing.
"""
from __future__ import annotations

import fnmatch

from ..execution.runner import read_notebook
from ..rubric import FieldError
from . import calling
from .base import Check, CheckContext, Verdict
from .cases import configure_cases, make_cases
from .code_names import qualified_uses
from .conventions import with_aliases

FIELDS = {"forbidden", "allowed", "target", "inputs", "cases", "tensors"}
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
        config = {**patterns, "target": calling.identifier(table, "target", required=False), "generator": None,
                  "cases": 1, "tensors": calling.flag(table, "tensors")}
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
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else str(source)
            source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))
            uses, aliases = qualified_uses(source, aliases)
            for use in uses:
                if (matches(use.name, config["forbidden"]) and not matches(use.name, config["allowed"])) \
                        or use.name in TAMPERING:
                    found.append(f"cell {index}, line {use.line}: {use.name}")
        runtime = self._trace(context) if config["target"] else []
        if not found and not runtime:
            checked = "the code" + (f" and a run of {config['target']}()" if config["target"] else "")
            return Verdict(1.0, "passed", f"no forbidden API in {checked}")
        unique = list(dict.fromkeys(found))
        parts = ([f"uses {'; '.join(unique[:3])}" + (f" (+{len(unique) - 3} more)" if len(unique) > 3 else "")]
                 if unique else []) + ([f"at run time {config['target']}() called {', '.join(runtime[:3])}"] if runtime else [])
        return Verdict(0.0, "failed", "forbidden API: " + "; ".join(parts), {"in_code": unique, "at_run_time": runtime})

    @staticmethod
    def _trace(context: CheckContext) -> list[str]:
        config = context.item.config
        seen: list[str] = []
        for case in make_cases(context.rubric.id, context.item.id, config["generator"], config["cases"]):
            args = list(with_aliases(case.args, context.rubric.aliases).values())
            result = context.runner.call(config["target"], args, tensors=config["tensors"], trace=True)
            for name in result.traced:
                if matches(name, config["forbidden"]) and not matches(name, config["allowed"]) and name not in seen:
                    seen.append(name)
        return seen
