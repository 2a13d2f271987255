"""Grade one submission: submission → execution → checks → Report.  Nothing here renders."""
from __future__ import annotations

import dataclasses
import filecmp
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from . import __version__, environment
from .checks import kind_class
from .checks.answered import AnswerCheck
from .checks.base import CheckContext, Planned, Verdict
from .documents import answers as documents
from .execution import preflight, sandbox
from .execution.limits import Limits
from .execution.runner import NotebookRunner, NotebookUnreadable, kernel_machinery
from .execution.zygote import Spawner
from .execution.zygote import usable as warm_kernels_keep
from .faults import STATUS as GRADER_ERROR
from .faults import GraderFault, fault_of
from .report.model import (CellErrorInfo, GraderInfo, ItemResult, NotebookResult, Report, Student, SubmissionInfo,
                           totals)
from .rubric import Item, Notebook, Rubric, import_references_meanwhile
from .submission import Submission, SubmissionError, find_file, identify, open_submission
from .theory.answers import MAX_ANSWERS_BYTES, AnswersFile, parse_answers


@dataclass
class GradingOptions:
    limit_overrides: dict = field(default_factory=dict)  # from the command line; beat the rubric's
    keep_workspace: bool = False
    sandbox: str = "auto"  # auto | off | require
    data_dir: Path | None = None  # the TA's held-out data (--data)
    expected_cache: dict = field(default_factory=dict)  # shared by every submission of one session
    zygote: Spawner | None = None  # forks warm kernels (grade batch); workspaces are made in its stage
    warm_kernels: bool = True  # grade batch: fork kernels from a warm zygote where it keeps every protection
    # the course environment's package folders, once built (grade batch builds it before its workers start)
    environment_paths: tuple[str, ...] = ()
    # who submitted, as the platform says (Gradescope's submission_metadata.json): the file name is not asked
    identity: Student | None = None
    companions: tuple[Path, ...] = ()  # the same student's documents uploaded beside the zip (a theory PDF)
    pages_dir: Path | None = None  # where the pages of the student's documents are rendered, for a TA to see


def _item_result(item: Item, verdict: Verdict, duration: float) -> ItemResult:
    fraction = min(max(verdict.fraction, 0.0), 1.0) if verdict.status != GRADER_ERROR else 0.0
    return ItemResult(item.id, item.title, item.kind, item.visibility, item.points, round(item.points * fraction, 6),
                      verdict.status, verdict.feedback, item.notebook, verdict.details, round(duration, 3))


def failed_items(items: list[Item], message: str) -> list[ItemResult]:
    return [_item_result(item, Verdict(0.0, "error", message), 0.0) for item in items]


def faulted_items(items: list[Item], fault: GraderFault) -> list[ItemResult]:
    """Items a fault of the grader kept from being graded: no score, the cause for the TA."""
    return [_item_result(item, _fault_verdict(fault), 0.0) for item in items]


def _fault_verdict(fault: GraderFault) -> Verdict:
    return Verdict(0.0, GRADER_ERROR, f"not graded, a fault of the grader: {fault.cause}", {"fault": fault.as_dict()})


def _record_fault(report: Report) -> None:
    """The report of a submission that any grader fault touched is no grade: it says why and what to do."""
    for item in report.items:
        if item.status == GRADER_ERROR and report.grader_error is None:
            report.grader_error = dict(item.details.get("fault") or {"cause": item.feedback, "fix": ""})


def grade(zip_path: Path, rubric: Rubric, options: GradingOptions | None = None) -> Report:
    options = options or GradingOptions()
    started, clock = datetime.now(timezone.utc), time.monotonic()
    if rubric.notebooks:
        kernel_machinery()  # before the references' thread starts importing (see kernel_machinery)
    if not any(key[0] == rubric.values_version for key in options.expected_cache):  # else needed only on a miss
        import_references_meanwhile(rubric)
    limits = rubric.limits.merged(options.limit_overrides)
    student, name_warning = ((options.identity, None) if options.identity is not None
                             else identify(zip_path.name, rubric.submission_pattern))
    report = Report(assignment={"id": rubric.id, "title": rubric.title, "hidden_until": rubric.hidden_until},
                    student=student,
                    submission=SubmissionInfo(zip_path.name), items=[], total=totals([]), notebooks=[],
                    grader=GraderInfo(__version__, rubric.id, rubric.sha256), limits=limits.as_dict(),
                    warnings=[name_warning] if name_warning else [], started_at=started.isoformat(timespec="seconds"))
    protections = sandbox.protections_for(options.sandbox, limits)
    zygote = options.zygote if options.zygote is not None and warm_kernels_keep(protections) else None
    try:
        submission = open_submission(zip_path, workspace_root=zygote.stage if zygote else None,
                                     companions=options.companions)
    except SubmissionError as exc:
        report.error = str(exc)
        report.items = failed_items(rubric.items, f"the submission could not be read: {exc}")
    else:
        report.submission = SubmissionInfo(zip_path.name, submission.sha256, submission.size_bytes)
        report.warnings += submission.warnings
        report.sandbox = {**protections.as_dict(), "warm_kernels": zygote is not None}
        if protections.isolation != "bubblewrap":
            report.warnings.append(f"student code ran without the sandbox ({protections.reason}): only time and "
                                   "resource limits were in force")
        try:
            report.items = _grade_items(submission, rubric, limits, options, report, protections, zygote)
        except Exception as exc:  # out of memory or disk, a bug: this submission is not graded, nobody else suffers
            report.items = faulted_items(rubric.items, fault_of(exc, f"while grading {zip_path.name}"))
        finally:
            if not options.keep_workspace:
                submission.cleanup()
            else:
                report.warnings.append(f"workspace kept at {submission.workspace}")
    _record_fault(report)
    report.warnings = bounded(report.warnings)
    for record in report.notebooks:
        record.errors = bounded(record.errors)
    report.total = totals(report.items)
    report.duration_s = round(time.monotonic() - clock, 3)
    return report


MAX_LISTED = 50  # warnings or cell errors a report lists: a submission may produce any number


def bounded(entries: list) -> list:
    """The first ``MAX_LISTED`` entries, and a line saying how many more there were: an answers file with
    700,000 unknown questions once made a 54 MiB report."""
    if len(entries) <= MAX_LISTED:
        return entries
    more = len(entries) - MAX_LISTED
    last = f"… and {more} more, not listed"
    return entries[:MAX_LISTED] + [last if isinstance(entries[0], str) else dataclasses.replace(entries[MAX_LISTED], error=last)]


def _read_answers(submission: Submission, rubric: Rubric, report: Report) -> tuple[AnswersFile | None, str]:
    if not rubric.answers_match:
        return None, "this assignment has no answers file"
    chosen, others = find_file(submission.files, rubric.answers_match)
    if chosen is None:
        found = ", ".join(submission.files[:10]) or "no files"
        return None, f"no answers file matching {' or '.join(rubric.answers_match)} in the submission (found: {found})"
    path = submission.workspace.joinpath(*PurePosixPath(chosen).parts)
    if path.stat().st_size > MAX_ANSWERS_BYTES:
        return None, f"{chosen} is larger than {MAX_ANSWERS_BYTES // 2**20} MiB"
    if others:
        report.warnings.append(f"several answers files: graded {chosen}, ignored {', '.join(others)}")
    text = path.read_bytes().decode("utf-8", errors="replace")
    answers = parse_answers(text, {item.id for item in rubric.items}, chosen)
    answers.file = chosen
    if not answers.answers:
        # not dlgrade's answers file but a document laid out by question (## سوال ۲): its answers are
        # looked for as a document's
        return None, f"{chosen} answers no question under '## item-id' headers"
    report.warnings += answers.warnings
    if rubric.answers_confirm == "all":
        for answer in answers.answers.values():
            answer.source = {"file": chosen, "page": None, "page_in_file": None, "pages": [], "label": answer.item,
                             "region": None}
    return answers, ""


def written_items(rubric: Rubric) -> list[Item]:
    """The items answered in writing (theory), which an answers file or a document holds."""
    return [item for item in rubric.items if not item.notebook and (item.kind == "manual" or issubclass(
        kind_class(item.kind), AnswerCheck))]


def _answers_from_documents(submission: Submission, rubric: Rubric, options: GradingOptions, report: Report,
                            answers: AnswersFile | None, protections: sandbox.Protections
                            ) -> tuple[AnswersFile | None, dict[str, list[int]]]:
    """The written answers the answers file lacks, looked for in the student's documents (a PDF, photos, a
    .docx, a Markdown or LaTeX document, a notebook's markdown cells); the items not found, with the pages
    a TA looks at."""
    items = [item for item in written_items(rubric)
             if answers is None or not (item.id in answers.answers and answers.answers[item.id].lines)]
    taken = {answers.file} if answers is not None and answers.file else set()
    for notebook in rubric.notebooks.values():
        chosen, _ = find_file(submission.files, notebook.match)
        taken.add(chosen)
    names = documents.theory_documents(submission.files, taken)
    if not items or not names:
        return answers, {}
    manual = {item.id for item in items if item.kind == "manual"}
    found = documents.read_answers(submission.workspace, submission.files, names, items, manual, options.pages_dir,
                                   protections)
    report.documents = found.documents
    report.warnings += found.warnings
    answers = answers if answers is not None else AnswersFile()
    answers.answers.update(found.answers)
    return answers, found.unplaced


def _grade_items(submission: Submission, rubric: Rubric, limits: Limits, options: GradingOptions,
                 report: Report, protections: sandbox.Protections, zygote: Spawner | None) -> list[ItemResult]:
    results: dict[str, ItemResult] = {}
    answers, answers_problem = _read_answers(submission, rubric, report)
    answers, unplaced = _answers_from_documents(submission, rubric, options, report, answers, protections)
    for item in rubric.items:
        if item.id in unplaced:
            feedback, details = documents.not_found(item, unplaced[item.id], report.documents, answers_problem)
            results[item.id] = _item_result(item, Verdict(0.0, "manual", feedback, details), 0.0)
    if answers is not None and answers.answers:
        answers_problem = ""
    for notebook in rubric.notebooks.values():
        items = [item for item in rubric.items if item.notebook == notebook.name]
        if items:
            for result in _grade_notebook(submission, rubric, notebook, items, limits, options, report, protections,
                                          answers, answers_problem, zygote):
                results[result.id] = result
    for item in rubric.items:
        if item.id not in results:  # kinds that need no notebook
            results[item.id] = _run_check(item, _context(item, rubric, None, options, answers, answers_problem,
                                                         submission))
            answer = answers.answers.get(item.id) if answers is not None else None
            if answer is not None and answer.source is not None and item.kind != "manual" \
                    and results[item.id].status != GRADER_ERROR:
                results[item.id] = documents.as_proposal(results[item.id], answer)
    return [results[item.id] for item in rubric.items]


def _grade_notebook(submission: Submission, rubric: Rubric, notebook: Notebook, items: list[Item], limits: Limits,
                    options: GradingOptions, report: Report, protections: sandbox.Protections,
                    answers: AnswersFile | None, answers_problem: str, zygote: Spawner | None) -> list[ItemResult]:
    chosen, others = find_file(submission.files, notebook.match)
    record = NotebookResult(notebook.name, chosen, notebook.mode)
    report.notebooks.append(record)
    if chosen is None:
        found = [f for f in submission.files if f.endswith(".ipynb")] or submission.files
        listing = ", ".join(found[:10]) + (" …" if len(found) > 10 else "") if found else "no files"
        record.problem = (f"no notebook matching {' or '.join(notebook.match)} in the submission "
                          f"(found: {listing})")
        return failed_items(items, record.problem)
    if others:
        report.warnings.append(f"several files match notebook '{notebook.name}': graded {chosen}, "
                               f"ignored {', '.join(others)}")
    path = submission.workspace.joinpath(*PurePosixPath(chosen).parts)
    report.warnings += _copy_starter_files(notebook, path.parent)
    try:
        extra_paths = environment_paths(rubric, options)
    except GraderFault as fault:
        record.problem = f"the notebook could not be executed: {fault.cause}"
        return faulted_items(items, fault)
    runner = NotebookRunner(path, notebook.mode, limits, submission.workspace, protections, zygote, extra_paths)
    try:
        with runner:
            _record_execution(record, runner)
            if runner.declared_kernel and not runner.declared_kernel.lower().startswith(("python", "ipython")):
                report.warnings.append(f"{chosen} declares the kernel '{runner.declared_kernel[:40]}'; it was run "
                                       "with Python, the only kernel the grader uses")
            return _run_notebook_checks(items, rubric, runner, options, answers, answers_problem, submission)
    except NotebookUnreadable as exc:
        record.problem = str(exc)
        return failed_items(items, record.problem)
    except Exception as exc:  # the kernel could not start: a fault of the grader, never the student's score
        fault = _kernel_start_fault(exc, chosen, options, limits, zygote)
        record.problem = f"the notebook could not be executed: {fault.cause}"
        return faulted_items(items, fault)
    finally:
        _record_execution(record, runner)
        if runner.tampered:
            report.warnings.append(f"{chosen}: the submission changed the grader's helper in the kernel during a "
                                   "call; the calls after the change were not made and earned nothing")


def environment_paths(rubric: Rubric, options: GradingOptions) -> tuple[str, ...]:
    """The course environment's package folders for the kernel (built here the first time, when no batch
    built it before); ``GraderFault`` when it cannot be built."""
    if rubric.environment is None:
        return ()
    return options.environment_paths or (str(environment.ensure(rubric.environment).site),)


def _kernel_start_fault(exc: Exception, notebook: str, options: GradingOptions, limits: Limits,
                        zygote: Spawner | None) -> GraderFault:
    """Why a kernel would not start, found by starting one on a known-good notebook (the lazy preflight of
    a single grade): the machine's fault, or something about this submission that a TA must look at."""
    checked = preflight.run(options.sandbox, limits, zygote)
    if checked.fault is not None:
        return checked.fault
    return GraderFault(f"the kernel for {notebook} could not start ({type(exc).__name__}: {exc}), although a "
                       "known-good notebook starts on this machine"[:1000],
                       "look at the submission's files (a file named like a module the kernel imports, such as "
                       "random.py or zmq.py beside the notebook, stops it); --keep-workspace keeps them")


def _record_execution(record: NotebookResult, runner: NotebookRunner) -> None:
    record.duration_s = round(runner.duration_s, 3)
    record.errors = [CellErrorInfo(e.cell, e.error) for e in runner.errors]
    record.kernel_restarts = runner.restarts
    record.timed_out = runner.timed_out


def _copy_starter_files(notebook: Notebook, folder: Path) -> list[str]:
    """The course's starter files win over a student's copy, so every notebook imports the same helpers."""
    warnings = []
    for source in notebook.starter_files:
        target = folder / source.name
        if target.is_symlink() or (target.exists() and not target.is_file()):
            target.unlink() if target.is_symlink() else shutil.rmtree(target)
        elif target.exists() and not filecmp.cmp(source, target, shallow=False):
            warnings.append(f"the submission's {source.name} differs from the course's starter file; "
                            "the course's copy was used")
        shutil.copyfile(source, target)
    return warnings


def _run_notebook_checks(items: list[Item], rubric: Rubric, runner: NotebookRunner, options: GradingOptions,
                         answers: AnswersFile | None, answers_problem: str, submission: Submission) -> list[ItemResult]:
    """The items of one notebook: the calls of every item that plans them go to the kernel in one request
    (a request costs milliseconds, often more than the calls), then each item is judged on its own results.
    After a call that hangs or crashes the kernel that request ends; the items whose calls it did not reach
    make them themselves."""
    contexts = {item.id: _context(item, rubric, runner, options, answers, answers_problem, submission) for item in items}
    plans = {item.id: _plan(item, contexts[item.id]) for item in items}
    planned = [plan for plan in plans.values() if plan is not None]
    results = runner.call_many([call for plan in planned for call in plan.calls]) if len(planned) > 1 else []
    for item in items:
        plan = plans[item.id]
        if plan is None or len(planned) < 2:
            continue
        own, results = results[:len(plan.calls)], results[len(plan.calls):]
        if len(own) == len(plan.calls) or (own and own[-1].status in ("timeout", "dead")):
            contexts[item.id] = dataclasses.replace(contexts[item.id], planned=(plan, own))
    return [_run_check(item, contexts[item.id]) for item in items]


def _plan(item: Item, context: CheckContext) -> Planned | None:
    try:
        return kind_class(item.kind)().plan(context)
    except Exception:  # the item's own run raises it again, and reports it
        return None


def _context(item: Item, rubric: Rubric, runner: NotebookRunner | None, options: GradingOptions,
             answers: AnswersFile | None = None, answers_problem: str = "",
             submission: Submission | None = None) -> CheckContext:
    return CheckContext(rubric, item, runner, options.expected_cache, answers, answers_problem,
                        submission.workspace if submission else None, submission.files if submission else [],
                        options.data_dir)


def _run_check(item: Item, context: CheckContext) -> ItemResult:
    started = time.monotonic()
    try:
        verdict = kind_class(item.kind)().run(context)
    except Exception as exc:  # a grader bug or a reference that raises: no score, never the student's loss
        verdict = _fault_verdict(fault_of(exc, f"in the {item.kind} check of {item.id}"))
    if item.feedback == "verdict" and verdict.status not in ("passed", "manual", GRADER_ERROR):
        # a hidden item says only that it is wrong, not how: its test data stays hidden
        verdict = Verdict(verdict.fraction, verdict.status, "incorrect" if verdict.status != "error" else
                          "could not be graded (the code raised, hung or is missing)", {})
    made = context.planned[1] if context.planned is not None else ()  # its calls, made before it ran
    return _item_result(item, verdict, time.monotonic() - started + sum(result.duration_s for result in made))
