"""Which library names a piece of student code uses, with aliases resolved — parsed, never run.

``import torch.nn as nn`` then ``nn.MultiheadAttention`` is ``torch.nn.MultiheadAttention``;
``from torch.nn.functional import scaled_dot_product_attention as sdpa`` then ``sdpa(...)`` is
``torch.nn.functional.scaled_dot_product_attention``; ``getattr(nn, "Transformer")`` counts too.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass


@dataclass(frozen=True)
class Use:
    name: str   # fully qualified, e.g. torch.nn.MultiheadAttention
    line: int   # in the cell


def dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def qualified_uses(source: str, aliases: dict[str, str] | None = None) -> tuple[list[Use], dict[str, str]]:
    """Every qualified name the code refers to, and the aliases it defines (carried to later cells)."""
    aliases = dict(aliases or {})
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return [], aliases
    for node in ast.walk(tree):  # imports anywhere (inside functions too) define aliases
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    uses = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, (ast.Attribute, ast.Name)) and isinstance(getattr(node, "ctx", None), ast.Load):
            name = dotted(node)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            uses += [Use(f"{node.module}.{a.name}", node.lineno) for a in node.names]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            base = dotted(node.args[0])
            if base:
                name = f"{base}.{node.args[1].value}"
        if name:
            head, _, rest = name.partition(".")
            if head in aliases:
                name = aliases[head] + ("." + rest if rest else "")
            uses.append(Use(name, node.lineno))
    return uses, aliases
