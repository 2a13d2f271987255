"""The ``grade`` command.

``grade SUBMISSION.zip`` grades one submission (the default command); ``grade validate RUBRIC`` and
``grade selftest RUBRIC`` prove a rubric.  Exit status: 0 graded (whatever the score), 1 below
``--fail-under`` or a failed selftest, 2 usage or rubric error, 3 submission unreadable, 4 a fault of the
grader (nothing was scored: ``grader.faults``).
"""
from __future__ import annotations

import difflib
import json
import os
import sys
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from . import __version__
from . import rubric as rubric_module
from . import environment, values
from .faults import GraderFault
from .grading import GradingOptions, grade
from .rehearsal import rehearse
from .batch.exports import PLATFORMS
from .checks import kind_class, metric
from .report import gradescope, html_page, json_format, junit, manual, markdown, terminal
from .report.i18n import LANGUAGES, localize
from .report.model import Report, Student
from .rubric import Rubric, RubricError
from .submission import identify, is_document
from .student.bundle import BundleError, load_bundle, locate_bundle
from .student.export import ExportError, export_bundle
from .student.selfcheck import check_files

EXIT_OK, EXIT_BELOW_THRESHOLD, EXIT_USAGE, EXIT_UNREADABLE, EXIT_GRADER_FAULT = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C
FORMATS = ("terminal", "json", "gradescope", "junit", "md", "html")
FORMAT_FILES = {"gradescope": "results.json", "junit": "junit.xml", "md": "report.md", "html": "report.html"}


class DefaultToGrade(click.Group):
    """``grade X.zip`` means ``grade submission X.zip``: the command a TA types most has no verb."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            word = args[0]
            close = difflib.get_close_matches(word, [c for c in self.commands if c != "submission"], n=1, cutoff=0.7)
            if close and not Path(word).exists():  # grade bacth x: a typo, not a file called "bacth"
                raise click.UsageError(f"no command '{word}': did you mean 'grade {close[0]}'? "
                                       "(grade --help lists them)")
            args = ["submission", *args]
        return super().parse_args(ctx, args)


def _load_rubric(spec: str) -> Rubric:
    try:
        return rubric_module.load(spec)
    except RubricError as exc:
        raise click.exceptions.Exit(_fail(str(exc)))


def _bundled_or_none(rubric_id: str) -> Rubric | None:
    """The bundled rubric of that id (for its translated titles), if there is one."""
    try:
        return rubric_module.load(rubric_id)
    except RubricError:
        return None


def _writable(folder: Path, option: str) -> None:
    """Refuse, before any grading, a folder the results could not be written to."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".dlgrade-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise click.exceptions.Exit(_fail(f"cannot write to {option} {folder}: {exc.strerror or exc}; "
                                          "choose a folder you can write to")) from None


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    Console(stderr=True, soft_wrap=True).print(terminal.inert(f"error: {message}", 10_000), style="red")
    return code


def _detect_rubric(zip_path: Path) -> str:
    """The bundled rubric whose submission pattern matches the file name, when exactly one does; when
    several do, a document (a PDF, a photo) goes to the one with only written answers and a zip to the one
    with notebooks (HW3_….pdf is the theory, HW3_….zip the practical)."""
    matches: dict[str, bool] = {}
    for rubric_id in rubric_module.bundled_rubric_ids():
        candidate = _load_rubric(rubric_id)
        if candidate.detect and candidate.submission_pattern and \
                identify(zip_path.name, candidate.submission_pattern)[1] is None:
            matches[rubric_id] = bool(candidate.notebooks)
    if len(matches) > 1:
        preferred = [rubric_id for rubric_id, notebooks in matches.items() if notebooks != is_document(zip_path)]
        matches = dict.fromkeys(preferred) if preferred else matches
    if len(matches) != 1:
        known = ", ".join(rubric_module.bundled_rubric_ids())
        raise click.UsageError(f"cannot tell which rubric grades {zip_path.name}: pass --rubric "
                               f"(a bundled id: {known}; or a path to a rubric.toml)")
    return next(iter(matches))


@click.group(cls=DefaultToGrade, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dlgrade")
def main() -> None:
    """Grade deep-learning homework: notebooks, functions, gradients and theory answers.

    \b
    grade SUBMISSION.zip [--rubric hw3]     grade one student's zip
    grade validate RUBRIC                   check a rubric file
    grade batch DIR -r hw3 -j 2             a whole class, in parallel, resumable, into a gradebook
    grade stats RESULTS                     pass rates, score distribution, slowest submissions
    grade selftest RUBRIC                   grade the rubric's own solution (must be full marks)
    grade template RUBRIC                   a blank answers file with every theory question
    grade manual REPORT.json --set ID=PTS   record the points of items a TA grades by hand
    grade gradebook RESULTS --export canvas the gradebook and a platform's import file, from the database
    grade review RESULTS                    grade the manual items by question, in answer groups (a local web app)
    grade export-student RUBRIC -o BUNDLE   a student bundle: public self-checks, no solutions
    grade check NOTEBOOK --bundle BUNDLE    a student checks their own files against a bundle
    grade similar DIR -r hw3                pairs of submissions that share code beyond the template
    grade doctor                            check that this machine can grade, and show what is in force
    grade env RUBRIC                        build the course environment a rubric declares (once), show it
    """


@main.command("submission")
@click.argument("submission", type=click.Path(path_type=Path))
@click.option("--rubric", "-r", "rubric_spec", help="Bundled rubric id (hw3) or path to a rubric.toml.")
@click.option("--format", "-f", "output_format", type=click.Choice(FORMATS), default="terminal",
              help="terminal: a table for people; json: the report; gradescope: results.json; junit: JUnit XML; "
                   "md: a Markdown feedback page; html: one self-contained page.")
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write DIR/report.json, report.md and report.html, and the chosen format's file "
                   "(results.json, junit.xml).")
@click.option("--fail-under", type=click.FloatRange(0, 100), help="Exit 1 when the score is below N percent.")
@click.option("--call-timeout", type=click.FloatRange(min=0.1), help="Seconds per call of a student function.")
@click.option("--cell-timeout", type=click.FloatRange(min=0.1), help="Seconds per notebook cell.")
@click.option("--notebook-timeout", type=click.FloatRange(min=0.1), help="Seconds for all cells of a notebook.")
@click.option("--keep-workspace", is_flag=True, help="Keep the unpacked submission for inspection.")
@click.option("--sandbox", "sandbox_mode", type=click.Choice(["auto", "off", "require"]), default="auto",
              help="auto: bubblewrap when it works; require: refuse to run without it; off: limits only.")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The TA's data folder (held-out labels for metric items).")
@click.option("--lang", "language", type=click.Choice(LANGUAGES), default="en",
              help="Language of the report's headings and feedback (fa: Persian, right to left).")
@click.option("--student", "student_name", metavar="NAME",
              help="Who submitted, as the platform says (Gradescope's metadata): the file name is then not asked.")
@click.option("--student-id", metavar="ID", help="The student's id, as the platform says.")
def submission_command(submission: Path, rubric_spec: str | None, output_format: str, out_dir: Path | None,
                       fail_under: float | None, call_timeout: float | None, cell_timeout: float | None,
                       notebook_timeout: float | None, keep_workspace: bool, sandbox_mode: str,
                       data_dir: Path | None, language: str, student_name: str | None, student_id: str | None) -> None:
    """Grade one SUBMISSION: a zip, or a document (PDF, photo, .docx, .md, .tex) of theory answers."""
    if submission.is_dir():
        raise click.exceptions.Exit(_fail(f"{submission} is a folder: grade a class with 'grade batch {submission} "
                                          "--rubric RUBRIC'; 'grade' takes one student's zip"))
    if not submission.exists():
        raise click.exceptions.Exit(_fail(f"no such file: {submission}"))
    if out_dir is not None:
        _writable(out_dir, "--out")
    rubric = _load_rubric(rubric_spec or _detect_rubric(submission))
    overrides = {"call_timeout_s": call_timeout, "cell_timeout_s": cell_timeout, "notebook_timeout_s": notebook_timeout}
    identity = None
    if student_name or student_id:
        first, _, last = (student_name or "").strip().partition(" ")
        identity = Student(first or None, last or None, student_id or None)
    kept = values.load(rubric.values_version)  # what the references computed in an earlier run
    options = GradingOptions(limit_overrides=overrides, keep_workspace=keep_workspace, sandbox=sandbox_mode,
                             data_dir=data_dir, environment_paths=_course_environment(rubric), identity=identity,
                             expected_cache=dict(kept), pages_dir=out_dir / "pages" if out_dir is not None else None)
    try:
        report = grade(submission, rubric, options)
    except RuntimeError as exc:  # --sandbox require on a machine without it: the machine's fault, not the student's
        raise click.exceptions.Exit(_fail(str(exc), EXIT_GRADER_FAULT))
    values.save(rubric.values_version, options.expected_cache, loaded=len(kept))
    _emit(localize(report, language, rubric), output_format, out_dir)
    _exit_for_fault(report)
    if report.error:
        raise click.exceptions.Exit(EXIT_UNREADABLE)
    if fail_under is not None and report.total.percent < fail_under:
        Console(stderr=True, soft_wrap=True).print(f"below the threshold: {report.total.percent:.1f} % is under "
                                                   f"--fail-under {fail_under:g} % (exit {EXIT_BELOW_THRESHOLD})")
        raise click.exceptions.Exit(EXIT_BELOW_THRESHOLD)


def _announcer(console: Console):
    """Where a one-time notice goes (the course environment's first build): stderr, never the report."""
    return lambda message: console.print(terminal.inert(message), style="cyan")


def _course_environment(rubric: Rubric) -> tuple[str, ...]:
    """The course environment built before grading, with one line for the TA the first time; a build that
    fails is left for the grading to report as a grader fault on the items that need it."""
    if rubric.environment is None:
        return ()
    try:
        built = environment.ensure(rubric.environment, _announcer(Console(stderr=True)))
    except GraderFault:
        return ()
    return (str(built.site),)


def _exit_for_fault(report: Report) -> None:
    """A grader fault is no grade: say so on stderr (whatever the format on stdout) and exit 4."""
    if report.grader_error:
        fault = report.grader_error
        raise click.exceptions.Exit(_fail(f"not graded: {fault['cause']}\nfix: {fault['fix']}", EXIT_GRADER_FAULT))


def _emit(report: Report, output_format: str, out_dir: Path | None) -> None:
    if out_dir is not None:  # the report, the two pages a person reads, and the chosen format's file: one grading
        json_format.write_atomic(out_dir / "report.json", json_format.render(report) + "\n")
        for name in {"md", "html", output_format} & set(FORMAT_FILES):
            json_format.write_atomic(out_dir / FORMAT_FILES[name], rendered(report, name))
    if output_format == "terminal":
        terminal.render(report)
    else:
        click.echo(rendered(report, output_format), nl=False)


def rendered(report: Report, output_format: str) -> str:
    """The report in one of the text formats; renderers read only the Report."""
    renderers = {"json": json_format.render, "gradescope": gradescope.render, "junit": junit.render,
                 "md": markdown.render, "html": html_page.render}
    text = renderers[output_format](report)
    return text if text.endswith("\n") else text + "\n"


@main.command("export-student")
@click.argument("rubric_spec", metavar="RUBRIC")
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The bundle folder to write (replaced if it holds an older bundle).")
@click.option("--cases", type=click.IntRange(1, 20), default=3, show_default=True,
              help="Fixed cases stored per item that calls the student's code.")
def export_student_command(rubric_spec: str, out_dir: Path, cases: int) -> None:
    """Write a student bundle: the public items as self-checks, with no reference code, no hidden item
    and no expected value of a graded case."""
    rubric = _load_rubric(rubric_spec)
    try:
        export = export_bundle(rubric, out_dir, cases)
    except (ExportError, RubricError) as exc:
        raise click.exceptions.Exit(_fail(str(exc)))
    console = Console(soft_wrap=True)
    table = Table("item", "points", "checked in the bundle", title=f"{rubric.id} → {out_dir}", title_justify="left")
    for entry in export.checked:
        table.add_row(entry["id"], f"{entry['points']:g}", entry["check"])
    for entry in export.upload_only:
        table.add_row(entry["id"], f"{entry['points']:g}", Text(f"only on upload: {entry['why']}", style="dim"))
    console.print(table)
    if export.hidden_items:
        console.print(f"{export.hidden_items} hidden items ({export.hidden_points:g} points) are not in the bundle.")
    console.print(f"Students run: grade check NOTEBOOK.ipynb --bundle {out_dir}")


@main.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--bundle", "-b", "bundle_dir", type=click.Path(file_okay=False, path_type=Path),
              help="The course's student bundle (default: $DLGRADE_BUNDLE, or the nearest folder with bundle.json).")
@click.option("--format", "-f", "output_format", type=click.Choice(FORMATS), default="terminal")
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write DIR/report.json and the chosen format's file.")
@click.option("--fail-under", type=click.FloatRange(0, 100), help="Exit 1 when the self-check score is below N percent.")
@click.option("--sandbox", "sandbox_mode", type=click.Choice(["auto", "off", "require"]), default="auto")
@click.option("--lang", "language", type=click.Choice(LANGUAGES), default="en",
              help="Language of the report's headings and feedback (fa: Persian, right to left).")
def check_command(paths: tuple[Path, ...], bundle_dir: Path | None, output_format: str, out_dir: Path | None,
                  fail_under: float | None, sandbox_mode: str, language: str) -> None:
    """A student's own notebook(s) and answers file (or a folder holding them), checked by the public
    self-checks of a bundle."""
    try:
        if bundle_dir is None:
            files = [str(f) for path in paths for f in ([path] if path.is_file() else path.rglob("*"))]
            bundle_dir, note = locate_bundle(files=files)
            if note:
                Console(stderr=True, soft_wrap=True).print(terminal.inert(note))
        bundle = load_bundle(bundle_dir)
    except BundleError as exc:
        raise click.exceptions.Exit(_fail(str(exc)))
    try:
        report = check_files(list(paths), bundle, GradingOptions(sandbox=sandbox_mode))
    except RuntimeError as exc:
        raise click.exceptions.Exit(_fail(str(exc), EXIT_GRADER_FAULT))
    _emit(localize(report, language, bundle.rubric), output_format, out_dir)
    _exit_for_fault(report)
    if fail_under is not None and report.total.percent < fail_under:
        Console(stderr=True, soft_wrap=True).print(f"below the threshold: {report.total.percent:.1f} % is under "
                                                   f"--fail-under {fail_under:g} % (exit {EXIT_BELOW_THRESHOLD})")
        raise click.exceptions.Exit(EXIT_BELOW_THRESHOLD)


@main.command("similar")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--rubric", "-r", "rubric_spec", required=True, help="Bundled rubric id or path: its template is subtracted.")
@click.option("--format", "-f", "output_format", type=click.Choice(["terminal", "json", "html"]), default="terminal")
@click.option("--out", "-o", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the JSON or HTML here (atomically) instead of to stdout.")
@click.option("--top", type=click.IntRange(1), default=50, show_default=True, help="How many pairs to show.")
@click.option("--min-score", type=click.FloatRange(0, 1), default=0.0, help="Leave out pairs below this score.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def similar_command(source: Path, rubric_spec: str, output_format: str, out_file: Path | None, top: int,
                    min_score: float, quiet: bool) -> None:
    """Rank the pairs of submissions in SOURCE (a folder of zips or a zip of zips) by the code they
    share: normalised (comments, docstrings, names and literals do not matter), fingerprinted by
    winnowing, with the template's code taken away."""
    from .batch.inbox import InboxError, collect
    from .similarity import corpus, pairs as ranking, render

    rubric = _load_rubric(rubric_spec)
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="dlgrade-similar-") as scratch:
        try:
            entries = collect(source, rubric, Path(scratch))
        except InboxError as exc:
            raise click.exceptions.Exit(_fail(str(exc)))
        with Progress(TextColumn("fingerprinting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=console, disable=quiet) as progress:
            task = progress.add_task("fingerprinting", total=len(entries))
            documents = corpus.read_class(entries, rubric, lambda: progress.advance(task))
    ranked = ranking.rank(documents, top, min_score)
    if output_format == "terminal":
        render.terminal(documents, ranked)
        return
    text = json.dumps(render.as_dict(documents, ranked), ensure_ascii=False, indent=1) + "\n" \
        if output_format == "json" else render.page(documents, ranked)
    if out_file is None:
        click.echo(text, nl=False)
    else:
        json_format.write_atomic(out_file, text)


class _Jobs(click.ParamType):
    """A number of jobs, or ``auto`` (None: the batch chooses for this machine)."""

    name = "N|auto"

    def convert(self, value, param, ctx):
        if value is None or value == "auto":
            return None
        try:
            jobs = int(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is neither a number of jobs nor auto", param, ctx)
        if jobs < 1:
            self.fail(f"{jobs} is not a number of jobs (1 or more, or auto)", param, ctx)
        return jobs


JOBS = _Jobs()


@main.command("batch")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--rubric", "-r", "rubric_spec", required=True, help="Bundled rubric id or path to a rubric.toml.")
@click.option("--out", "-o", "results", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="Reports, gradebook.csv and the course's gradebook.sqlite.")
@click.option("--jobs", "-j", type=JOBS, default="auto", show_default=True,
              help="Submissions graded at once; auto: one a core, as many as the memory holds with every "
                   "kernel at its memory limit.")
@click.option("--times", "times_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The platform's CSV of file name, submission time (else the zip entries' times are used).")
@click.option("--dask", "dask_address", metavar="ADDRESS", help="Grade on an existing Dask cluster (scheduler address).")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The TA's data folder (held-out labels for metric items).")
@click.option("--sandbox", "sandbox_mode", type=click.Choice(["auto", "off", "require"]), default="auto")
@click.option("--call-timeout", type=click.FloatRange(min=0.1), help="Seconds per call of a student function.")
@click.option("--cell-timeout", type=click.FloatRange(min=0.1), help="Seconds per notebook cell.")
@click.option("--warm/--cold", "warm_kernels", default=True, show_default=True,
              help="Fork each kernel from a sandboxed Python that imported ipykernel, numpy and torch once "
                   "(root and bubblewrap only; elsewhere kernels start cold).")
@click.option("--feedback", "feedback", multiple=True, type=click.Choice(["html", "md"]),
              help="Also write each student's page beside their report (reports/STUDENT.html or .md); repeatable.")
@click.option("--lang", "language", type=click.Choice(LANGUAGES), default="en", help="Language of the feedback pages.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def batch_command(source: Path, rubric_spec: str, results: Path, jobs: int | None, times_csv: Path | None,
                  dask_address: str | None, data_dir: Path | None, sandbox_mode: str, call_timeout: float | None,
                  cell_timeout: float | None, warm_kernels: bool, feedback: tuple[str, ...], language: str,
                  quiet: bool) -> None:
    """Grade a class: SOURCE is a folder of zips or one zip of zips. Resumable: run it again to go on."""
    from .batch import inbox
    from .batch.run import Batch, BatchFault

    rubric = _load_rubric(rubric_spec)
    _writable(results, "--out")
    console = Console(stderr=True)
    try:
        times = inbox.read_times(times_csv) if times_csv else None
        overrides = {"call_timeout_s": call_timeout, "cell_timeout_s": cell_timeout}
        options = GradingOptions(limit_overrides=overrides, sandbox=sandbox_mode, data_dir=data_dir,
                                 warm_kernels=warm_kernels)
        batch = Batch(rubric_spec, results, options, jobs, dask_address, times, announce=_announcer(console))
        with _progress(console, quiet) as (progress, task):
            def report_progress(name: str, done: int, total: int, failed: int) -> None:
                progress.update(task, completed=done, total=total, failures=failed, last=name)
            summary = batch.run(source, report_progress)
    except inbox.EmptyInbox as exc:
        raise click.exceptions.Exit(_fail(str(exc)))
    except inbox.InboxError as exc:
        raise click.exceptions.Exit(_fail(str(exc), EXIT_UNREADABLE))
    except BatchFault as exc:
        raise click.exceptions.Exit(_fail(f"nobody was graded: {exc.fault.cause}\nfix: {exc.fault.fix}",
                                          EXIT_GRADER_FAULT))
    except KeyboardInterrupt:  # before the grading began: reading the class, the rubric, the database
        console.print("interrupted before any grading: nothing was recorded", style="yellow")
        raise click.exceptions.Exit(EXIT_INTERRUPTED)
    if summary.interrupted:
        console.print(f"interrupted: the {summary.graded + summary.reused} results finished are kept in {results}; "
                      "run the same command again to grade the rest", style="yellow")
        raise click.exceptions.Exit(EXIT_INTERRUPTED)
    if feedback:
        from .batch import records
        from .batch.gradebook import Gradebook

        with Gradebook(results / "gradebook.sqlite") as book:
            for line in records.write_feedback(results, book, rubric.id, feedback, language, rubric):
                console.print(terminal.inert(line))
    for problem in summary.problems:
        console.print(terminal.inert(f"problem: {problem}"), style="yellow")
    for line in summary.left_out:
        console.print(terminal.inert(f"left out: {line}"), style="yellow")
    for fault in summary.faults:
        console.print(terminal.inert(f"not graded (a fault of the grader): {fault}", 2000), style="magenta")
    console.print(f"{summary.total} students: {summary.graded} graded, {summary.reused} from the cache, "
                  f"{summary.failed} unreadable, {len(summary.faults)} not graded for a grader fault, "
                  f"in {summary.seconds:.1f} s — {results / 'gradebook.csv'}")
    if summary.stopped:
        raise click.exceptions.Exit(_fail(summary.stopped, EXIT_GRADER_FAULT))
    if summary.faults:
        raise click.exceptions.Exit(EXIT_GRADER_FAULT)


class _Rate(ProgressColumn):
    def render(self, task) -> Text:
        return Text(f"{task.speed * 60:.1f}/min" if task.speed else "–/min")


@contextmanager
def _progress(console: Console, quiet: bool):
    """A progress bar: done/total, rate, failures so far, time left, the last submission."""
    progress = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), _Rate(),
                        TextColumn("[cyan]{task.fields[failures]} failed"), TimeRemainingColumn(),
                        TextColumn("{task.fields[last]}", markup=False), console=console, disable=quiet)
    with progress:
        yield progress, progress.add_task("grading", total=None, failures=0, last="")


@main.command("doctor")
@click.option("--sandbox", "sandbox_mode", type=click.Choice(["auto", "off", "require"]), default="auto")
@click.option("--warm/--cold", "warm_kernels", default=True, show_default=True,
              help="Also check a kernel forked from a warm zygote, as grade batch starts them.")
def doctor_command(sandbox_mode: str, warm_kernels: bool) -> None:
    """Check that this machine can grade: start a sandboxed kernel on a known-good notebook, call it, and
    show what is in force. Exit 4 when it cannot (the same preflight grade batch runs first)."""
    from .execution import preflight
    from .execution.limits import Limits
    from .execution.zygote import Zygote, ZygoteError
    from .execution.zygote import usable as warm_kernels_keep

    console = Console(soft_wrap=True)
    environment = preflight.probe_environment()
    console.print(Text.assemble(("python ", "bold"), environment["python"], "  (", ", ".join(environment["python_roots"]),
                                ")\n", ("bubblewrap ", "bold"), environment["bubblewrap"], "  ",
                                "as root" if environment["root"] else "as an ordinary user"))
    runs = [("cold", None)]
    zygote = None
    if warm_kernels and warm_kernels_keep(preflight.sandbox.protections_for("auto", Limits())) and sandbox_mode != "off":
        zygote = Zygote()
        try:
            zygote.start()
            runs.append(("warm", zygote))
        except (OSError, ZygoteError) as exc:
            zygote = None
            console.print(Text(f"the warm zygote did not start ({exc}): grade batch starts kernels cold", style="yellow"))
    faults = []
    try:
        for label, spawner in runs:
            checked = preflight.run(sandbox_mode, Limits(), spawner)
            table = Table("check", "", "detail", title=f"{label} kernel", title_justify="left")
            for finding in checked.findings:
                table.add_row(finding.name, Text("ok", style="green") if finding.ok else Text("FAILED", style="bold red"),
                              terminal.inert(finding.detail, 600))
            console.print(table)
            if checked.fault is not None:
                faults.append(checked.fault)
    finally:
        if zygote is not None:
            zygote.close()
    if faults:
        raise click.exceptions.Exit(_fail(f"{faults[0].cause}\nfix: {faults[0].fix}", EXIT_GRADER_FAULT))
    console.print(Text("this machine can grade", style="bold green"))


@main.command("stats")
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--rubric", "-r", "rubric_id", help="Only this assignment (default: every one in the gradebook).")
def stats_command(results: Path, rubric_id: str | None) -> None:
    """Per-item pass rates, the score distribution and the slowest submissions of a graded class."""
    from .batch.gradebook import Gradebook
    from .batch.stats import class_stats

    database = results / "gradebook.sqlite"
    if not database.is_file():
        raise click.exceptions.Exit(_fail(f"{results}: no gradebook.sqlite here (run grade batch first)"))
    console = Console()
    with Gradebook(database) as book:
        for rubric in [rubric_id] if rubric_id else book.rubric_ids():
            _render_stats(console, class_stats(rubric, book.reports(rubric)))


def _render_stats(console: Console, stats) -> None:
    console.print(terminal.inert(stats.rubric_id), f"{stats.students} students, {stats.failed_submissions} unreadable, "
                  f"mean {stats.mean_percent:.1f} % of the automatic points")
    table = Table("item", "kind", "points", "passed", "partial", "errors", "mean")
    for item in stats.items:
        name = terminal.inert(item.id)
        if item.id in stats.suspicious:
            name.append(" (nobody passed: check the rubric)", style="red")
        table.add_row(name, item.kind, f"{item.points:g}", str(item.passed), str(item.partial),
                      str(item.errors), f"{100 * item.mean_fraction:.0f} %")
    console.print(table)
    peak = max(stats.histogram) or 1
    for tenth, count in enumerate(stats.histogram):
        console.print(f"{tenth * 10:>3}–{tenth * 10 + 10:<3}% {'█' * round(30 * count / peak):<30} {count}")
    if stats.slowest:
        console.print(Text("slowest: ") + Text(", ").join(terminal.inert(f"{name} {seconds:.1f} s")
                                                          for name, seconds in stats.slowest))


@main.command("validate")
@click.argument("rubric_spec", metavar="RUBRIC")
def validate_command(rubric_spec: str) -> None:
    """Check a rubric (bundled id or path): every field, reference and file it names."""
    rubric = _load_rubric(rubric_spec)
    try:
        rubric_module.resolve_references(rubric)
    except RubricError as exc:
        raise click.exceptions.Exit(_fail(str(exc)))
    problems = rehearse(rubric)
    if problems:
        for problem in problems[:-1]:
            _fail(str(problem))
        raise click.exceptions.Exit(_fail(str(problems[-1])))
    table = Table(title=f"{rubric.id}: {rubric.title}")
    for column in ("item", "kind", "points", "visibility", "notebook"):
        table.add_column(column)
    for item in rubric.items:
        table.add_row(item.id, item.kind, f"{item.points:g}", item.visibility, item.notebook or "")
    console = Console()
    console.print(table)
    console.print(f"[green]valid[/green]: {len(rubric.items)} items, {rubric.max_points:g} points, "
                  f"{len(rubric.notebooks)} notebook(s) — {rubric.path}")


@main.command("env")
@click.argument("rubric_spec", metavar="RUBRIC")
def env_command(rubric_spec: str) -> None:
    """Build the rubric's course environment (once; it is cached) and show what it holds."""
    rubric = _load_rubric(rubric_spec)
    console = Console()
    if rubric.environment is None:
        console.print(f"{rubric.id}: no [environment]: notebooks run with the grader's own Python ({sys.executable})")
        return
    try:
        built = environment.ensure(rubric.environment, _announcer(Console(stderr=True)))
    except GraderFault as fault:
        raise click.exceptions.Exit(_fail(f"{fault.cause}\nfix: {fault.fix}", EXIT_GRADER_FAULT))
    how = "cached" if built.cached else f"built in {built.seconds:.1f} s"
    console.print(terminal.inert(f"{rubric.id}: {', '.join(rubric.environment.requirements)} — {how}"))
    console.print(terminal.inert(f"packages (on the kernel's sys.path, read-only): {built.site}"))
    for package in built.packages or ["(none: the grader's own Python has them all)"]:
        console.print(terminal.inert(f"  {package}"))


@main.command("template")
@click.argument("rubric_spec", metavar="RUBRIC")
@click.option("--out", "-o", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the file here instead of printing it.")
def template_command(rubric_spec: str, out_file: Path | None) -> None:
    """A blank answers file: every theory question with its expected form and symbols."""
    text = answers_template(_load_rubric(rubric_spec))
    if out_file:
        out_file.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out_file}")
    else:
        click.echo(text, nl=False)


def answers_template(rubric: Rubric) -> str:
    lines = [f"# {rubric.title} — answers", "# Write each answer under its '## id' line; lines starting with '>' "
             "are ignored.", "# Math: @ matrix product, * elementwise, .T transpose, ** power, exp log tanh sigma "
             "softmax sqrt; LaTeX works too.", "# Numbers: 12,345,678 or 12 345 678 or ۱۲٬۳۴۵٬۶۷۸ (thousands by threes), "
             "12 × 1,048,576, 1.5 (a point, not a comma); vectors [4, 0, 7].",
             "# Every accepted notation, with examples: the dlgrade README, section 'Theory answers'.",
             "# Handing in a PDF, photos or a Word file instead: label each answer as the questions are numbered",
             "# (Question 2 (b), سوال ۲ قسمت ب, Q2(b)); for a scan or photos, add a pages.txt saying where each",
             "# answer is, one line per question: 'q1: 1-2', 'q2: 3' (page numbers in the order the pages are read).",
             ""]
    for item in rubric.items:
        if kind_class(item.kind).needs_notebook:
            continue
        lines += [f"## {item.id}", f"> {item.title} ({item.points:g} points)"]
        if item.description:
            lines.append(f"> {item.description}")
        symbols = getattr(item.config, "get", lambda _key: None)("symbols")
        if symbols:
            declared = ", ".join(f"{name} {'scalar' if not shape else '×'.join(map(str, shape)) if isinstance(shape, list) else shape}"
                                 for name, shape in symbols.items())
            lines.append(f"> symbols: {declared}")
        hint = {"choice": "the letter(s) of the correct option(s)", "numeric": "a number", "shape": "a shape such as (16, 128, 512)",
                "expression": "an expression in the symbols", "manual": "your explanation"}.get(item.kind)
        if hint:
            lines.append(f"> answer: {hint}")
        lines.append("")
    return "\n".join(lines)


@main.command("manual")
@click.argument("report_path", metavar="REPORT.json", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--set", "assignments", multiple=True, metavar="ID=POINTS", help="Points for one item (repeatable).")
@click.option("--comment", default="", help="Feedback for the item(s) set here.")
@click.option("--csv", "csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A CSV of id,points[,comment] rows.")
@click.option("--override", is_flag=True, help="Also allow changing automatically graded items.")
def manual_command(report_path: Path, assignments: tuple[str, ...], comment: str, csv_path: Path | None,
                   override: bool) -> None:
    """Record the points of manual items in REPORT.json and update its totals."""
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
        for assignment in assignments:
            item_id, separator, points = assignment.partition("=")
            if not separator:
                raise manual.ManualError(f"'{assignment}' is not ID=POINTS")
            try:
                value = float(points)
            except ValueError:
                raise manual.ManualError(f"'{points}' is not a number of points") from None
            manual.apply(report, item_id.strip(), value, comment, override)
        if csv_path is not None:
            manual.apply_csv(report, csv_path, override)
    except (manual.ManualError, ValueError, KeyError) as exc:
        raise click.exceptions.Exit(_fail(f"{report_path}: {exc}"))
    json_format.write_atomic(report_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    total = report["total"]
    click.echo(f"{report_path}: {total['score']:g} / {total['max']:g}"
               + (f" (+{total['manual_pending']:g} pending)" if total["manual_pending"] else ""))
    from .batch import records
    from .batch.gradebook import Gradebook

    results = records.report_in_results(report_path)
    if results is not None:  # a batch's report: its gradebook follows at once
        with Gradebook(results / "gradebook.sqlite") as book:
            rubric_id = report.get("assignment", {}).get("id")
            records.take_edits(results, book, rubric_id)
            for line in records.write_tables(results, book, rubric_id):
                click.echo(line)


@main.command("review")
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--rubric", "-r", "rubric_id", help="The assignment, when the database holds several.")
@click.option("--grader", "grader_name", default=lambda: os.environ.get("USER") or "TA", show_default="$USER",
              help="Who is grading: every mark and comment records it.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="The port on 127.0.0.1 (default: any free one).")
@click.option("--lang", "language", type=click.Choice(LANGUAGES), default="en", help="Language of the app's own words.")
def review_command(results: Path, rubric_id: str | None, grader_name: str, port: int, language: str) -> None:
    """Grade the manual items of a batch question by question, in answer groups, in a local web app."""
    from .review.decisions import ReviewError
    from .review.server import App, make_server

    try:
        app = App(results, rubric_id, grader_name, language)
    except ReviewError as exc:
        raise click.exceptions.Exit(_fail(str(exc)))
    server = make_server(app, port)
    click.echo(f"grade review: open http://127.0.0.1:{server.server_address[1]}/?token={app.token}  (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped; every mark is in the course database and the gradebook")
    finally:
        server.server_close()


@main.command("gradebook")
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--rubric", "-r", "rubric_id", help="The assignment, when the database holds several.")
@click.option("--export", "platforms", multiple=True, type=click.Choice(PLATFORMS),
              help="Also write the platform's grade-import CSV (RESULTS/canvas-ID.csv, moodle-ID.csv); repeatable.")
@click.option("--feedback", "feedback", multiple=True, type=click.Choice(["html", "md"]),
              help="Also write each student's page beside their report (reports/STUDENT.html or .md); repeatable.")
@click.option("--lang", "language", type=click.Choice(LANGUAGES), default="en", help="Language of the feedback pages.")
@click.option("--history", "student_key", metavar="STUDENT", help="List every (re-)grade of one student instead.")
def gradebook_command(results: Path, rubric_id: str | None, platforms: tuple[str, ...], feedback: tuple[str, ...],
                      language: str, student_key: str | None) -> None:
    """Rebuild RESULTS/gradebook.csv from the course database and the reports a TA edited (grade manual),
    and write the files Canvas or Moodle import."""
    from .batch import records
    from .batch.gradebook import Gradebook

    if not (results / "gradebook.sqlite").is_file():
        raise click.exceptions.Exit(_fail(f"{results} holds no gradebook.sqlite: give the --out folder of a 'grade batch'"))
    with Gradebook(results / "gradebook.sqlite") as book:
        try:
            if student_key is not None:
                rows = book.history(rubric_id, student_key)
                if not rows:
                    raise records.RecordsError(f"no grade of '{student_key}' in {results}")
                table = Table("assignment", "file", "score", "final", "reason", "when")
                for rubric, file, score, final, reason, at in rows:
                    table.add_row(*(terminal.inert(str(v)) for v in (rubric, file, f"{score:g}", f"{final:g}", reason, at)))
                Console().print(table)
                return
            chosen = records.only_rubric(book, rubric_id)
            changed = records.take_edits(results, book, chosen)
            for line in records.write_tables(results, book, chosen, platforms):
                click.echo(line)
            for line in records.write_feedback(results, book, chosen, feedback, language, _bundled_or_none(chosen)):
                click.echo(line)
        except records.RecordsError as exc:
            raise click.exceptions.Exit(_fail(str(exc)))
    if changed:
        click.echo(f"taken from edited reports: {', '.join(changed)}")


@main.command("selftest")
@click.argument("rubric_spec", metavar="RUBRIC")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The TA's data folder, for items that need held-out labels.")
def selftest_command(rubric_spec: str, data_dir: Path | None) -> None:
    """Grade the rubric's solutions (full automatic marks) and its templates (no marks)."""
    rubric = _load_rubric(rubric_spec)
    solutions = {n.name: n.solution for n in rubric.notebooks.values() if n.solution}
    templates = {n.name: n.template for n in rubric.notebooks.values() if n.template}
    if rubric.answers_solution is not None:
        solutions["answers"] = rubric.answers_solution
    solutions.update({f"file:{path.name}": path for path in rubric.solution_files})
    if not solutions:
        raise click.exceptions.Exit(_fail(f"{rubric.path}: no notebook declares a solution to selftest"))
    console = Console()
    problems = []
    untested = {item.id: reason for item in rubric.items if item.kind == "metric"
                for reason in [metric.missing_labels(item.config, data_dir)] if reason}
    options = GradingOptions(data_dir=data_dir)
    with tempfile.TemporaryDirectory(prefix="dlgrade-selftest-") as folder:
        solved = grade(_zip_of(Path(folder) / "solution.zip", solutions, rubric.path.parent), rubric, options)
        terminal.render(solved, console)
        problems += [f"{i.id}: the solution earns {i.score:g}/{i.points:g} — {i.feedback}"
                     for i in solved.items if i.score < i.points and i.status != "manual" and i.id not in untested]
        if rubric.answers_match:  # the blank answers file grade template writes
            blank_answers = Path(folder) / "answers.md"
            blank_answers.write_text(answers_template(rubric), encoding="utf-8")
            templates["answers"] = blank_answers
        if templates:
            blank = grade(_zip_of(Path(folder) / "template.zip", templates, rubric.path.parent), rubric, options)
            problems += [f"{i.id}: the unmodified template earns {i.score:g}/{i.points:g}: the check cannot tell "
                         "a blank answer from a right one" for i in blank.items
                         if (i.notebook in templates or i.notebook is None) and i.score > 0]
    for problem in problems:
        console.print(terminal.inert(f"selftest: {problem}"), style="red")
    for item_id, reason in untested.items():
        console.print(terminal.inert(f"selftest: {item_id} not tested: {reason} (pass --data)"), style="yellow")
    if problems:
        raise click.exceptions.Exit(EXIT_BELOW_THRESHOLD)
    automatic = solved.total.max - solved.total.manual_pending - sum(i.points for i in solved.items if i.id in untested)
    earned = solved.total.score - sum(i.score for i in solved.items if i.id in untested)
    console.print(f"[green]selftest passed[/green]: the solution earns {earned:g}/{automatic:g} automatic points"
                  + (" and the templates earn nothing" if templates else ""))


def _zip_of(target: Path, files: dict[str, Path], rubric_folder: Path) -> Path:
    """A zip of ``files``, each at its path under the rubric's solution/ or template/ folder (a course's
    ``cs231n/rnn_layers.py`` stays in its package folder)."""
    with zipfile.ZipFile(target, "w") as archive:
        for path in files.values():
            try:
                inner = path.resolve().relative_to(rubric_folder.resolve()).parts[1:]
            except ValueError:
                inner = ()
            archive.write(path, "/".join(inner) if inner else path.name)
    return target


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
