"""Write every bundled rubric's solution and template notebooks from the cells in tools/cells/.

A template is its solution with every region between ``### START CODE HERE ###`` and
``### END CODE HERE ###`` replaced by ``None`` assignments, so the two can never drift apart.
Run: python tools/build_notebooks.py
"""
import re
import sys
from pathlib import Path

import nbformat

TOOLS = Path(__file__).resolve().parent
RUBRICS = TOOLS.parent / "rubrics"
sys.path.insert(0, str(TOOLS))

from cells import hw3, practicals  # noqa: E402  (the path above makes tools/cells importable)

SOLVED = re.compile(r"(?P<indent>[ \t]*)### START CODE HERE ###\n(?P<body>.*?)(?P=indent)### END CODE HERE ###", re.S)


def blank(source: str) -> str:
    def replace(match):
        indent = match["indent"]
        names = []
        for line in match["body"].splitlines():
            if line.startswith(indent) and not line[len(indent):].startswith((" ", "\t", "for ", "#")):
                target = line.strip().split("=")[0].strip() if "=" in line and "==" not in line.split("=")[0] else ""
                if target.isidentifier() and target not in names:
                    names.append(target)
        body = "".join(f"{indent}{name} = None\n" for name in names) or f"{indent}pass\n"
        return f"{indent}### START CODE HERE ###\n{body}{indent}### END CODE HERE ###"
    return SOLVED.sub(replace, source)


def notebook(solved: bool, cells: list) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, source in cells:
        if kind == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(source if solved else blank(source)))
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"p1-{index:02d}"
    return nb


if __name__ == "__main__":
    for rubric_id, name, cells in hw3.NOTEBOOKS + practicals.NOTEBOOKS:
        for solved, sub in ((True, "solution"), (False, "template")):
            (RUBRICS / rubric_id / sub).mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook(solved, cells), RUBRICS / rubric_id / sub / name)
        print("wrote", RUBRICS / rubric_id / "{solution,template}" / name)
