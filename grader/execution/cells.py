"""Which code of a notebook runs, by mode.

``full`` runs every code cell as written.  ``definitions`` runs, from each cell, the top-level statements
that define what graded code relies on, each on its own so that one failing statement costs only
itself (``DEFINITIONS_RULES`` in the README):

* imports, functions and classes run as written; an import of a module the grading environment lacks
  binds a stand-in that raises a clear error only if graded code uses it;
* other statements that bind or set things — assignments (the device line, vocabularies, hyper-parameter
  dicts, small tensors), bare calls (``torch.manual_seed(0)``), ``if``/``with``/``try`` blocks — run
  under a time budget of ``VALUE_BUDGET_S`` and are interrupted past it;
* loops at the top level (training), ``if __name__ == "__main__"`` blocks, line magics and shell lines
  do not run; ``%%writefile`` cells do, since they define modules the notebook imports;
* a cell that does not parse (a Python 2 ``print 'x'``) is split into its top-level statements, and
  only the ones that do not parse are dropped, each with its line.

What did not run, and why, comes back as notes the report lists.  The code is parsed, never executed,
here; the kernel runs it through ``DEFINITIONS_RUNNER``.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from .bridge import MIME
from .integrity import as_one_token

MODES = ("full", "definitions")
DEFINITION_NODES = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
VALUE_NODES = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.If, ast.With, ast.Try)
# A value statement may use this much CPU time, and this much time on the clock (a sleep, a download):
# past either it is interrupted.  CPU time does not depend on what else the machine is doing.
VALUE_BUDGET_S, VALUE_WALL_BUDGET_S = 2.0, 10.0

# Runs in the kernel, with the cells' statements as data: each statement on its own, a missing module
# bound to a stand-in, a value statement interrupted past its budget.  After each cell it publishes a
# bridge response carrying the cell's nonce and its notes, or the error that stopped the cell (SystemExit
# and the like escape a statement's ``except Exception``; they cost the rest of that cell only).  Many
# cells go in one request: a request costs milliseconds, a cell of definitions often less.  Standalone:
# the grader's packages are hidden from the kernel.
DEFINITIONS_RUNNER = '''
def __dlgrade_cells__(cells, mime, wall_factor):
    import linecache, signal, traceback
    from IPython.display import publish_display_data
    namespace = get_ipython().user_ns

    class OverBudget(BaseException):  # not an Exception: a student's `except Exception` cannot swallow it
        pass

    def over_budget(signum, frame):
        raise OverBudget()

    def text(exc):
        try:
            return str(exc)[:400]
        except BaseException:  # a student's exception whose __str__ raises
            return "(its message could not be read)"

    def described(exc):
        return f"{type(exc).__name__}: {text(exc)}"

    timers = ((signal.SIGPROF, signal.ITIMER_PROF, 1), (signal.SIGALRM, signal.ITIMER_REAL, wall_factor))

    class Missing:
        def __init__(self, module, where):
            object.__setattr__(self, "_dlgrade_missing", (module, where))

        def _fail(self, *args, **kwargs):
            module, where = object.__getattribute__(self, "_dlgrade_missing")
            raise ModuleNotFoundError(f"{module} could not be imported in the grading environment (imported {where})")

        __call__ = __iter__ = __getitem__ = _fail

        def __getattr__(self, name):
            self._fail()

        def __mro_entries__(self, bases):
            self._fail()

    def run(cell, statements):
        notes = []
        for source, line, names, budget in statements:
            filename = f"<cell {cell} line {line}>"
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            previous = [signal.signal(number, over_budget) for number, _, _ in timers] if budget else []
            try:
                for _, timer, factor in timers if budget else ():
                    signal.setitimer(timer, budget * factor, 0.5)  # and again every 0.5 s, if it is caught
                exec(compile("\\n" * (line - 1) + source, filename, "exec"), namespace)
            except OverBudget:
                notes.append(f"line {line}: stopped past its {budget:g} s budget (not a definition; what follows it ran)")
            except ModuleNotFoundError as exc:
                if names:
                    for name in names:
                        namespace[name] = Missing(exc.name or name, f"on line {line} of cell {cell}")
                    notes.append(f"line {line}: {text(exc)}; a stand-in raises if graded code uses it")
                else:
                    notes.append(f"line {line}: {described(exc)}")
            except Exception as exc:
                notes.append(f"line {line}: {described(exc)}")
            finally:
                for (number, timer, _), handler in zip(timers, previous):
                    signal.setitimer(timer, 0)
                    signal.signal(number, handler)
        return notes

    for cell, statements, nonce in cells:
        try:
            answer = {"nonce": nonce, "notes": run(cell, statements)}
        except BaseException as exc:
            answer = {"nonce": nonce, "error": described(exc), "traceback": traceback.format_exc()[-4000:]}
        publish_display_data({mime: answer})
'''


@dataclass(frozen=True)
class CodeUnit:
    """Code to run for one notebook cell (``cell`` is its 1-based index among all cells): ``source`` is the
    student's code that runs; in definitions mode, ``statements`` are its statements as the kernel's
    ``DEFINITIONS_RUNNER`` takes them (``definitions_program``), else ``source`` runs as a cell."""

    cell: int
    source: str
    note: str = ""  # why code was dropped or could not be read
    statements: tuple = ()  # (text, first line, names an import binds, budget) of each statement that runs
    unread: tuple[str, ...] = ()  # the functions and classes whose definitions could not be read

    @property
    def code(self) -> str:
        """The student's code that runs, whichever way it is sent."""
        return self.source

    @property
    def definitions(self) -> bool:
        return bool(self.statements)


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
    lines = without_magics(source).split("\n")
    statements, unreadable, unread = _statements(lines)
    kept = []
    for node, start in statements:
        budget = _budget(node)
        if budget is False:
            continue
        text = "\n".join(lines[start - 1: node.end_lineno])
        kept.append((text, start, _bound_by_import(node), budget))
    note = "; ".join(unreadable)
    if not kept:
        return CodeUnit(index, "", note=note, unread=unread) if note else None
    return CodeUnit(index, "\n".join(text for text, *_ in kept), note=note, statements=tuple(kept), unread=unread)


def definitions_program(units: list[CodeUnit], nonces: list[str]) -> str:
    """The code of one request that runs the definitions of ``units`` in order, the response after each
    cell carrying the nonce of the same place in ``nonces``."""
    cells = [(unit.cell, list(unit.statements), nonce) for unit, nonce in zip(units, nonces)]
    return as_one_token(f"{DEFINITIONS_RUNNER}\n__dlgrade_cells__({cells!r}, {MIME!r}, "
                        f"{VALUE_WALL_BUDGET_S / VALUE_BUDGET_S!r})\n"
                        "get_ipython().user_ns.pop('__dlgrade_cells__', None)\n", "<dlgrade definitions>")


def _statements(lines: list[str]) -> tuple[list[tuple[ast.stmt, int]], list[str], tuple[str, ...]]:
    """The cell's top-level statements with their first line (decorators included); a cell that does not
    parse is split into its top-level blocks, and the blocks that do not parse are reported, with the
    names of the functions and classes they would have defined."""
    try:
        return [(node, _first_line(node)) for node in ast.parse("\n".join(lines)).body], [], ()
    except SyntaxError:
        pass
    found, unreadable, unread = [], [], []
    for start, end in _blocks(lines):
        try:
            tree = ast.parse("\n" * (start - 1) + "\n".join(lines[start - 1: end]))
        except SyntaxError as exc:
            names = [match.group(1) for line in lines[start - 1: end] for match in [DEFINITION_LINE.match(line)] if match]
            what = f" in {names[0]}" if names else ""
            unreadable.append(f"SyntaxError on line {exc.lineno}{what}: {exc.msg} "
                              f"(that {'definition' if names else 'statement'} was not run)")
            unread += names
            continue
        found += [(node, _first_line(node)) for node in tree.body]
    return found, unreadable, tuple(unread)


DEFINITION_LINE = re.compile(r"(?:async\s+def|def|class)\s+([A-Za-z_]\w*)")  # at the start of a top-level line


def _blocks(lines: list[str]) -> list[tuple[int, int]]:
    """(first, last) line numbers of each top-level block: a block starts at a line that is not indented,
    not blank, not a comment, and does not continue the one before (else/except/closing brackets)."""
    continuing = ("else", "elif", "except", "finally", ")", "]", "}", "#")
    starts = []
    decorated = False
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line[0] in " \t" or line.lstrip().startswith(continuing):
            continue
        if not decorated:
            starts.append(number)
        decorated = line.startswith("@")
    return [(start, (starts[i + 1] - 1) if i + 1 < len(starts) else len(lines)) for i, start in enumerate(starts)]


def _first_line(node: ast.stmt) -> int:
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def _budget(node: ast.stmt) -> float | None | bool:
    """None: a definition, run as written; a number: a value statement's time budget; False: not run."""
    if isinstance(node, DEFINITION_NODES) or (isinstance(node, ast.Try) and _only_definitions(node)):
        return None
    if isinstance(node, ast.If) and _is_main_guard(node.test):
        return False
    if isinstance(node, VALUE_NODES):
        return VALUE_BUDGET_S
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):  # torch.manual_seed(0)
        return VALUE_BUDGET_S
    return False


def _only_definitions(node: ast.Try) -> bool:
    """try: import x / except ImportError: x = None — a definition, whatever the import costs."""
    blocks = [node.body, node.orelse, node.finalbody] + [handler.body for handler in node.handlers]
    return all(isinstance(child, (*DEFINITION_NODES, ast.Pass, ast.Assign)) for block in blocks for child in block)


def _is_main_guard(test: ast.expr) -> bool:
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__")


def _bound_by_import(node: ast.stmt) -> list[str]:
    """The names an import binds (empty for ``import *`` and for anything else)."""
    if isinstance(node, ast.Import):
        return [(alias.asname or alias.name).split(".")[0] for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return [alias.asname or alias.name for alias in node.names if alias.name != "*"]
    return []


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
