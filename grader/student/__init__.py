"""The student's side: public self-checks from a bundle that holds no solutions.

In a notebook::

    from grader.student import check
    check("p1.lstm_cell_forward")   # one item, against the live definitions
    check()                         # every item the notebook can check itself

The bundle is found from ``bundle=PATH``, ``$DLGRADE_BUNDLE``, or the nearest folder holding
``bundle.json``.  Items that read the notebook file or the answers file (forbidden APIs, theory
answers) are checked by ``grade check NOTEBOOK --bundle BUNDLE``.
"""
from __future__ import annotations

from pathlib import Path

from .bundle import Bundle, BundleError, find_bundle, load_bundle, locate_bundle

IN_NOTEBOOK_KINDS = ("function", "gradient", "module")
MARKS = {"passed": "✓", "partial": "~", "failed": "✗", "error": "✗"}

__all__ = ["check", "Bundle", "BundleError", "load_bundle", "find_bundle"]


def check(item: str | None = None, *, bundle: str | Path | None = None, namespace: dict | None = None) -> bool:
    """Print a short verdict for ``item`` (or every item the notebook can check); True when all pass."""
    from ..checks import kind_class
    from ..checks.base import CheckContext
    from .local import LocalRunner

    namespace = namespace if namespace is not None else _notebook_namespace()
    if bundle is None:
        # the notebook's own file, where the front end says it (JupyterLab, VS Code), picks among bundles
        session = [str(namespace[key]) for key in ("__session__", "__vsc_ipynb_file__") if namespace.get(key)]
        bundle, note = locate_bundle(files=session, defined={n for n, v in namespace.items() if callable(v)})
        if note:
            print(note)
    loaded = load_bundle(bundle)
    items = {entry.id: entry for entry in loaded.rubric.items}
    if item is not None and item not in items:
        raise BundleError(f"no item '{item}' in the bundle (its items: {', '.join(items)})")
    chosen = [items[item]] if item else [entry for entry in items.values() if entry.kind in IN_NOTEBOOK_KINDS]
    runner = LocalRunner(namespace)
    all_passed = True
    for entry in chosen:
        if entry.kind not in IN_NOTEBOOK_KINDS:
            print(f"· {entry.id}: checked by `grade check NOTEBOOK --bundle {loaded.folder}` (it reads your files)")
            continue
        verdict = kind_class(entry.kind)().run(CheckContext(loaded.rubric, entry, runner))
        all_passed &= verdict.status == "passed"
        print(f"{MARKS.get(verdict.status, '·')} {entry.id}: {verdict.feedback}")
    print("(public checks only: hidden tests and the TA's grading decide the grade)")
    return all_passed


def _notebook_namespace() -> dict:
    try:
        from IPython import get_ipython
        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None:
        return shell.user_ns
    import __main__
    return vars(__main__)
