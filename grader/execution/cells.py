"""Which code of a notebook runs, by mode.

``full`` runs every code cell as written.  ``definitions`` keeps, from each cell, only the top-level
statements that define things — imports, functions, classes, and assignments whose value involves no
call — so a notebook that trains for an hour is graded in seconds.  Line magics and shell lines are
dropped; ``%%writefile`` cells are kept because they define modules the notebook imports.  The code
is parsed, never executed, here.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

MODES = ("full", "definitions")
DEFINITION_NODES = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# Calls cheap and side-effect free enough to run in definitions mode, matched on the last name of the
# callee: ``device = torch.device("cpu")`` or ``np.random.seed(1)`` are part of what functions rely on.
CHEAP_CALLS = frozenset({
    "device", "dtype", "tensor", "as_tensor", "array", "asarray", "arange", "zeros", "ones", "full", "eye",
    "linspace", "seed", "manual_seed", "default_rng", "set_printoptions", "filterwarnings",
    "set_default_dtype", "join", "Path", "dict", "list", "tuple", "set", "frozenset", "range", "int", "float",
    "str", "bool", "len", "sqrt", "log", "exp", "namedtuple", "TypeVar",
})


@dataclass(frozen=True)
class CodeUnit:
    """Code to run for one notebook cell (``cell`` is its 1-based index among all cells)."""

    cell: int
    source: str
    note: str = ""  # why code was dropped or could not be read


def select_code(cells: list[dict], mode: str) -> list[CodeUnit]:
    units = []
    for index, cell in enumerate(cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        source = cell_source(cell)
        if not source.strip():
            continue
        if mode == "full":
            units.append(CodeUnit(index, source))
            continue
        unit = _definitions_of(index, source)
        if unit is not None:
            units.append(unit)
    return units


def cell_source(cell: dict) -> str:
    """A cell's source as one string (notebooks store it as a string or a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def without_magics(source: str) -> str:
    """Line magics and shell escapes blanked out, line numbers kept, so the rest parses as Python."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))


def _definitions_of(index: int, source: str) -> CodeUnit | None:
    first = source.lstrip().split("\n", 1)[0]
    if first.startswith("%%"):
        return CodeUnit(index, source) if first.split()[0] in ("%%writefile", "%%file") else None
    python_lines = without_magics(source).split("\n")
    try:
        tree = ast.parse("\n".join(python_lines))
    except SyntaxError as exc:
        return CodeUnit(index, "", note=f"SyntaxError on line {exc.lineno}: {exc.msg}")
    kept = [node for node in tree.body if _is_definition(node)]
    if not kept:
        return None
    chunks = []
    for node in kept:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        chunks.append("\n".join(python_lines[start - 1: node.end_lineno]))
    return CodeUnit(index, "\n".join(chunks))


def _is_definition(node: ast.stmt) -> bool:
    if isinstance(node, DEFINITION_NODES):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        return node.value is not None and _is_cheap(node.value)
    if isinstance(node, ast.Expr):  # a bare call such as torch.manual_seed(0)
        return isinstance(node.value, ast.Call) and _is_cheap(node.value)
    if isinstance(node, ast.Try):  # try: import x / except ImportError: import y
        blocks = [node.body, node.orelse, node.finalbody] + [h.body for h in node.handlers]
        return all(_is_definition(child) or isinstance(child, ast.Pass) for block in blocks for child in block)
    return False


def _is_cheap(expression: ast.expr) -> bool:
    pending = [expression]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Lambda):  # defining a lambda runs nothing in it
            continue
        if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return False
        if isinstance(node, ast.Call) and _callee_name(node.func) not in CHEAP_CALLS:
            return False
        pending.extend(ast.iter_child_nodes(node))
    return True


def _callee_name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def defined_names(source: str | bytes) -> set[str]:
    """The names Python source binds at its top level: functions, classes, assignments and imports."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names
