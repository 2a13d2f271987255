"""The ``grade`` command.

``grade SUBMISSION.zip`` grades one submission (the default command); ``grade validate RUBRIC`` and
``grade selftest RUBRIC`` prove a rubric.  Exit status: 0 graded (whatever the score), 1 below
``--fail-under`` or a failed selftest, 2 usage or rubric error, 3 submission unreadable.
"""
from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from . import __version__
from . import rubric as rubric_module
from .grading import GradingOptions, grade
from .report import json_format, terminal
from .report.model import Report
from .rubric import Rubric, RubricError

EXIT_OK, EXIT_BELOW_THRESHOLD, EXIT_USAGE, EXIT_UNREADABLE = 0, 1, 2, 3
FORMATS = ("terminal", "json")


class DefaultToGrade(click.Group):
    """``grade X.zip`` means ``grade submission X.zip``: the command a TA types most has no verb."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["submission", *args]
        return super().parse_args(ctx, args)


def _load_rubric(spec: str) -> Rubric:
    try:
        return rubric_module.load(spec)
    except RubricError as exc:
        raise click.exceptions.Exit(_fail(str(exc)))


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    Console(stderr=True, soft_wrap=True).print(terminal.inert(f"error: {message}", 10_000), style="red")
    return code


def _detect_rubric(zip_path: Path) -> str:
    """The bundled rubric whose submission pattern matches the file name, when exactly one does."""
    matches = []
    for rubric_id in rubric_module.bundled_rubric_ids():
        candidate = _load_rubric(rubric_id)
        if candidate.submission_pattern and candidate.submission_pattern.fullmatch(zip_path.name):
            matches.append(rubric_id)
    if len(matches) != 1:
        known = ", ".join(rubric_module.bundled_rubric_ids())
        raise click.UsageError(f"cannot tell which rubric grades {zip_path.name}: pass --rubric "
                               f"(a bundled id: {known}; or a path to a rubric.toml)")
    return matches[0]


@click.group(cls=DefaultToGrade, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dlgrade")
def main() -> None:
    """Grade deep-learning homework: notebooks, functions, gradients and theory answers.

    \b
    grade SUBMISSION.zip [--rubric hw3]     grade one student's zip
    grade validate RUBRIC                   check a rubric file
    grade selftest RUBRIC                   grade the rubric's own solution (must be full marks)
    """


@main.command("submission")
@click.argument("submission", type=click.Path(path_type=Path))
@click.option("--rubric", "-r", "rubric_spec", help="Bundled rubric id (hw3) or path to a rubric.toml.")
@click.option("--format", "-f", "output_format", type=click.Choice(FORMATS), default="terminal",
              help="terminal: a table for people; json: the report on stdout.")
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write DIR/report.json.")
@click.option("--fail-under", type=click.FloatRange(0, 100), help="Exit 1 when the score is below N percent.")
@click.option("--call-timeout", type=click.FloatRange(min=0.1), help="Seconds per call of a student function.")
@click.option("--cell-timeout", type=click.FloatRange(min=0.1), help="Seconds per notebook cell.")
@click.option("--notebook-timeout", type=click.FloatRange(min=0.1), help="Seconds for all cells of a notebook.")
@click.option("--keep-workspace", is_flag=True, help="Keep the unpacked submission for inspection.")
@click.option("--sandbox", "sandbox_mode", type=click.Choice(["auto", "off", "require"]), default="auto",
              help="auto: bubblewrap when it works; require: refuse to run without it; off: limits only.")
def submission_command(submission: Path, rubric_spec: str | None, output_format: str, out_dir: Path | None,
                       fail_under: float | None, call_timeout: float | None, cell_timeout: float | None,
                       notebook_timeout: float | None, keep_workspace: bool, sandbox_mode: str) -> None:
    """Grade one SUBMISSION zip."""
    rubric = _load_rubric(rubric_spec or _detect_rubric(submission))
    overrides = {"call_timeout_s": call_timeout, "cell_timeout_s": cell_timeout, "notebook_timeout_s": notebook_timeout}
    options = GradingOptions(limit_overrides=overrides, keep_workspace=keep_workspace, sandbox=sandbox_mode)
    try:
        report = grade(submission, rubric, options)
    except RuntimeError as exc:  # --sandbox require on a machine without it
        raise click.exceptions.Exit(_fail(str(exc)))
    _emit(report, output_format, out_dir)
    if report.error:
        raise click.exceptions.Exit(EXIT_UNREADABLE)
    if fail_under is not None and report.total.percent < fail_under:
        raise click.exceptions.Exit(EXIT_BELOW_THRESHOLD)


def _emit(report: Report, output_format: str, out_dir: Path | None) -> None:
    text = json_format.render(report)
    if out_dir is not None:
        json_format.write_atomic(out_dir / "report.json", text + "\n")
    if output_format == "json":
        click.echo(text)
    else:
        terminal.render(report)


@main.command("validate")
@click.argument("rubric_spec", metavar="RUBRIC")
def validate_command(rubric_spec: str) -> None:
    """Check a rubric (bundled id or path): every field, reference and file it names."""
    rubric = _load_rubric(rubric_spec)
    table = Table(title=f"{rubric.id}: {rubric.title}")
    for column in ("item", "kind", "points", "visibility", "notebook"):
        table.add_column(column)
    for item in rubric.items:
        table.add_row(item.id, item.kind, f"{item.points:g}", item.visibility, item.notebook or "")
    console = Console()
    console.print(table)
    console.print(f"[green]valid[/green]: {len(rubric.items)} items, {rubric.max_points:g} points, "
                  f"{len(rubric.notebooks)} notebook(s) — {rubric.path}")


@main.command("selftest")
@click.argument("rubric_spec", metavar="RUBRIC")
def selftest_command(rubric_spec: str) -> None:
    """Grade the rubric's solution notebooks (must earn full marks) and its templates (must earn none)."""
    rubric = _load_rubric(rubric_spec)
    solutions = {n.name: n.solution for n in rubric.notebooks.values() if n.solution}
    templates = {n.name: n.template for n in rubric.notebooks.values() if n.template}
    if not solutions:
        raise click.exceptions.Exit(_fail(f"{rubric.path}: no notebook declares a solution to selftest"))
    console = Console()
    problems = []
    with tempfile.TemporaryDirectory(prefix="dlgrade-selftest-") as folder:
        solved = grade(_zip_of(Path(folder) / "solution.zip", solutions), rubric)
        terminal.render(solved, console)
        problems += [f"{i.id}: the solution earns {i.score:g}/{i.points:g} — {i.feedback}"
                     for i in solved.items if i.score < i.points]
        if templates:
            blank = grade(_zip_of(Path(folder) / "template.zip", templates), rubric)
            problems += [f"{i.id}: the unmodified template earns {i.score:g}/{i.points:g}: the check cannot tell "
                         "a blank answer from a right one" for i in blank.items
                         if i.notebook in templates and i.score > 0]
    for problem in problems:
        console.print(terminal.inert(f"selftest: {problem}"), style="red")
    if problems:
        raise click.exceptions.Exit(EXIT_BELOW_THRESHOLD)
    console.print(f"[green]selftest passed[/green]: the solution earns {solved.total.score:g}/{solved.total.max:g}"
                  + (" and the templates earn nothing" if templates else ""))


def _zip_of(target: Path, notebooks: dict[str, Path]) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in notebooks.values():
            archive.write(path, path.name)
    return target


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
