"""``grade batch``: every student's latest submission graded in parallel, each report written the
moment it is graded, the gradebook rebuilt from the database at the end.

A grader fault (``grader.faults``) is never a grade: before any result is recorded a preflight proves
that a sandboxed kernel starts and answers here; a submission the grader failed is graded once more, and if the
fault persists it is neither recorded nor cached, and a fault that recurs (or a machine that fails the
preflight) stops the run with the reason, keeping everything graded before it.

Resumable by construction: a report enters the database (keyed by the submission's bytes, the rubric's
executed parts and the grader's code) in one transaction as soon as it is graded, so a run killed at
any point — even with SIGKILL — and started again grades only what is not there yet.  Workers are
forked from a server that has imported the grader once (and torch and the references, when their values
are not kept on this machine yet: ``grader.values``), and die with it.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import ctypes
import hashlib
import json
import multiprocessing
import multiprocessing.util
import os
import signal
import tempfile
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from datetime import timezone
from pathlib import Path
from typing import Callable

from .. import late as late_policy
from .. import __version__, environment, values
from ..execution import preflight
from ..execution.limits import Limits
from ..execution.runner import kernel_machinery
from ..execution.sandbox import protections_for
from ..execution.zygote import Zygote, ZygoteError
from ..execution.zygote import usable as warm_kernels_keep
from ..faults import GraderFault, fault_of
from ..grading import GradingOptions, faulted_items, grade
from ..report import json_format
from ..report.model import GraderInfo, Report, SubmissionInfo, totals
from ..rubric import Rubric, load, references
from ..submission import identify
from . import cache, exports
from .gradebook import Gradebook
from .inbox import Entry, collect, unidentified

PR_SET_PDEATHSIG = 1


@dataclass
class BatchSummary:
    total: int = 0
    graded: int = 0        # run now
    reused: int = 0        # from the cache: an earlier run, or a points-only change
    failed: int = 0        # the submission could not be read
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # files in the class folder that are no submission
    faults: list[str] = field(default_factory=list)  # not graded: the grader failed them (nothing recorded)
    stopped: str | None = None  # why the run stopped before grading everyone (a fault of the grader)
    interrupted: bool = False  # Ctrl-C: what finished is kept, the rest waits for the next run


class BatchFault(Exception):
    """The machine cannot grade: nobody was graded by this run (see ``GraderFault``)."""

    def __init__(self, fault: GraderFault):
        super().__init__(fault.cause)
        self.fault = fault


def options_digest(options: GradingOptions) -> str:
    relevant = {"limits": options.limit_overrides, "sandbox": options.sandbox,
                "data": str(options.data_dir.resolve()) if options.data_dir else None}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()


@contextlib.contextmanager
def _no_interrupts():
    """While a stop is cleaned up, a second Ctrl-C waits instead of leaving half-killed workers behind."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _die_with_parent() -> None:
    """A worker whose coordinator is killed exits too, instead of grading for nobody; Ctrl-C is the
    coordinator's to handle (it kills the workers), so a worker never dies of it mid-record."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


@dataclass
class _WorkerState:
    """What one worker process keeps between the submissions it grades: expected values (they depend
    only on the rubric and the seeds) and, on a Dask worker, the zygote its kernels are forked from (a
    local run's workers share the coordinator's)."""

    expected: dict = field(default_factory=dict)
    kept: dict = field(default_factory=dict)  # per rubric version: how many of ``expected`` are on disk
    zygote: Zygote | None = None
    zygote_failed: bool = False  # once: kernels then start cold for the rest of the run

    def zygote_for(self, options: GradingOptions) -> Zygote | None:
        if not options.warm_kernels or self.zygote_failed:
            return None
        if self.zygote is not None and self.zygote.alive:
            return self.zygote
        self.close()
        self.zygote = _start_zygote(options)
        self.zygote_failed = self.zygote is None
        if self.zygote is not None:
            # a worker of a process pool ends through multiprocessing, which runs its finalizers, not atexit's
            multiprocessing.util.Finalize(None, self.close, exitpriority=10)
        return self.zygote

    def close(self) -> None:
        zygote, self.zygote = self.zygote, None
        if zygote is not None:
            zygote.close()


_WORKER = _WorkerState()


def _start_zygote(options: GradingOptions, wait: bool = True) -> Zygote | None:
    """A warm zygote where it keeps every protection, else None (kernels start cold, as they always could)."""
    if not options.warm_kernels or not warm_kernels_keep(protections_for(options.sandbox, Limits())):
        return None
    zygote = Zygote(extra_paths=options.environment_paths)
    try:
        zygote.start(wait=wait)
    except (OSError, ZygoteError):
        zygote.close()
        return None
    return zygote


def _warm(options: GradingOptions, rubric: Rubric) -> GradingOptions:
    zygote = options.zygote if options.zygote is not None else _WORKER.zygote_for(options)
    if rubric.values_version not in _WORKER.kept:  # the values an earlier run kept: no reference runs again
        kept = values.load(rubric.values_version)
        _WORKER.expected.update(kept)
        _WORKER.kept[rubric.values_version] = len(kept)
    return dataclasses.replace(options, expected_cache=_WORKER.expected, zygote=zygote)


def _keep_values(rubric: Rubric) -> None:
    """What the references computed for this worker's submissions, kept for later runs (and workers)."""
    version = rubric.values_version
    computed = sum(1 for key in _WORKER.expected if isinstance(key, tuple) and key and key[0] == version)
    if computed > _WORKER.kept[version]:
        values.save(version, _WORKER.expected, loaded=_WORKER.kept[version])
        _WORKER.kept[version] = computed


def _grade_twice_on_fault(path: Path, rubric: Rubric, options: GradingOptions) -> dict:
    """A report; a submission the grader failed (a transient fault: memory, a dying zygote) is graded once more."""
    report = grade(path, rubric, _warm(options, rubric))
    if report.grader_error:
        report = grade(path, rubric, _warm(options, rubric))
    _keep_values(rubric)
    return report.to_dict()


def grade_bytes(name: str, data: bytes, rubric_spec: str, options: GradingOptions) -> dict:
    """Grade one submission given as bytes (so a remote Dask worker needs no shared disk)."""
    with tempfile.TemporaryDirectory(prefix="dlgrade-batch-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return _grade_twice_on_fault(path, load(rubric_spec), options)


def grade_path(path: str, rubric_spec: str, options: GradingOptions) -> dict:
    return _grade_twice_on_fault(Path(path), load(rubric_spec), options)


def _fault_report(rubric: Rubric, entry: Entry, fault: GraderFault) -> dict:
    """What a submission whose grading itself failed (a dead worker, a bug) gets: no score, the cause."""
    items = faulted_items(rubric.items, fault)
    return Report(assignment={"id": rubric.id, "title": rubric.title, "hidden_until": rubric.hidden_until},
                  student=entry.student, submission=SubmissionInfo(entry.name),
                  grader=GraderInfo(__version__, rubric.id, rubric.sha256), items=items, total=totals(items),
                  notebooks=[], limits={}, grader_error=fault.as_dict()).to_dict()


def _fault_signature(report: dict) -> tuple:
    """Two submissions failed the same way: the same items, the same remedy."""
    faulted = frozenset(item["id"] for item in report["items"] if item["status"] == "grader_error")
    return faulted, report["grader_error"].get("fix", "")


WORKER_MB = 256  # a worker's own memory beside its kernel's (about 50 MiB measured), with room to spare


def jobs_for(submissions: int, cores: int, available_mb: int, kernel_mb: int) -> int:
    """How many submissions to grade at once when the TA does not say: one a core, no more than the
    memory holds with every kernel at its memory limit, and no more than there are submissions."""
    return max(1, min(cores, available_mb // (kernel_mb + WORKER_MB), submissions))


def _this_machine() -> tuple[int, int]:
    """The cores this process may run on, and the memory available now (MiB)."""
    try:
        with open("/proc/meminfo") as meminfo:
            available_kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError, IndexError):
        available_kib = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 1024
    return len(os.sched_getaffinity(0)), available_kib // 1024


class Batch:
    def __init__(self, rubric_spec: str, results: Path, options: GradingOptions, jobs: int | None = 1,
                 dask_address: str | None = None, times: dict | None = None,
                 announce: Callable[[str], None] = lambda _: None):
        """``jobs``: submissions graded at once; None: as many as this machine's cores and memory hold."""
        self.rubric_spec, self.announce = rubric_spec, announce
        self.rubric = load(rubric_spec)
        self.results, self.options, self.jobs = results, options, max(1, jobs) if jobs is not None else None
        self.dask_address, self.times = dask_address, times or {}
        self.options_digest = options_digest(options)

    def run(self, source: Path, on_progress: Callable[[str, int, int, int], None] | None = None) -> BatchSummary:
        clock = time.monotonic()
        summary = BatchSummary()
        entries = collect(source, self.rubric, self.results / "inbox", self.times, summary.left_out)
        summary.total = len(entries)
        for entry in entries:
            for conflict in entry.conflicts:
                self.announce(f"identity to confirm for {entry.student_key}: {conflict}")
            nameless = unidentified(entry, self.rubric)
            if nameless:
                summary.problems.append(nameless)
        if self.rubric.late is not None and any(entry.time_source != PLATFORM for entry in entries):
            self.announce(f"the rubric has a late policy: {LATE_NOT_ASSESSED}")
        with Gradebook(self.results / "gradebook.sqlite") as book:
            book.record_submissions(self.rubric.id, entries)
            todo = []
            for entry in entries:
                key = cache.grade_key(entry.sha256(), self.rubric, self.options_digest)
                cached = book.cached(key)
                if cached is None or cached.get("grader_error") or self._pages_missing(cached, entry):
                    todo.append((entry, key))
                    continue
                self._finish(book, entry, key, cached, "reused")
                summary.reused += 1
                summary.failed += bool(cached.get("error"))
                self._progress(on_progress, entry, summary)
            try:
                self._grade_and_record(book, todo, summary, on_progress)
            except KeyboardInterrupt:  # the workers are gone (``_grade_in_pool``); what finished is recorded
                summary.interrupted = True
            finally:  # whatever stopped the run, the gradebook shows everything graded so far
                with _no_interrupts():
                    write_gradebook_csv(self.results / "gradebook.csv", self.rubric, book)
        summary.seconds = round(time.monotonic() - clock, 3)
        return summary

    def _grade_and_record(self, book: Gradebook, todo: list, summary: BatchSummary, on_progress) -> None:
        seen_faults: dict[tuple, str] = {}
        # closed on a stop: the pool drops what is queued and the zygote ends
        with contextlib.closing(self._grade_all(todo)) as graded:
            for entry, key, report in graded:
                if report.get("grader_error"):  # it failed twice: no grade, no cache entry; the TA is told
                    fault = report["grader_error"]
                    summary.faults.append(f"{entry.name}: {fault['cause']} (fix: {fault['fix']})")
                    signature = _fault_signature(report)
                    if signature in seen_faults or fault.get("machine"):
                        also = f" (as {seen_faults[signature]} before it)" if signature in seen_faults else ""
                        summary.stopped = (f"stopped after {entry.name}{also}: {fault['cause']}; fix: {fault['fix']}. "
                                           "Everything graded so far is kept; run the same command again once fixed")
                        return
                    seen_faults[signature] = entry.name
                    self._progress(on_progress, entry, summary)
                    continue
                self._finish(book, entry, key, report, "graded")
                summary.graded += 1
                summary.failed += bool(report.get("error"))
                if report.get("error"):
                    summary.problems.append(f"{entry.name}: {report['error']}")
                self._progress(on_progress, entry, summary)

    @staticmethod
    def _progress(on_progress, entry: Entry, summary: BatchSummary) -> None:
        if on_progress:
            on_progress(entry.name, summary.graded + summary.reused, summary.total, summary.failed)

    # --- grading ---------------------------------------------------------------------------------------

    def _grade_all(self, todo: list[tuple[Entry, str]]):
        """(entry, key, report) as each finishes; a grading that raises becomes an error report."""
        if not todo:
            return
        if self.dask_address:
            yield from self._grade_on_dask(todo)
            return
        # one zygote for the run, importing while the workers start (and while the first submission is
        # unpacked): its kernels' first request waits for it.  The preflight runs meanwhile, in a thread of
        # its own; no result leaves here before it has passed.
        base = self._with_environment()
        limits = self.rubric.limits.merged(self.options.limit_overrides)
        jobs = self.jobs or jobs_for(len(todo), *_this_machine(), limits.memory_mb)
        kernel_machinery()  # on this thread, before the preflight's thread imports it (see kernel_machinery)
        zygote = _start_zygote(base, wait=False)
        checking = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="dlgrade-preflight")
        try:
            checked = checking.submit(preflight.run, self.options.sandbox, limits, zygote)
            if jobs == 1:
                options = dataclasses.replace(base, zygote=zygote, warm_kernels=zygote is not None)
                graded = ((entry, key, self._guarded(lambda: _grade_twice_on_fault(
                    entry.path, self.rubric, self._for_entry(options, entry)), entry)) for entry, key in todo)
            else:
                link = zygote.link() if zygote is not None else None
                options = dataclasses.replace(base, zygote=link, warm_kernels=zygote is not None)
                graded = self._grade_in_pool(todo, options, jobs)
            with contextlib.closing(graded):
                for index, result in enumerate(graded):
                    if index == 0 and checked.result().fault is not None:
                        raise BatchFault(checked.result().fault)
                    yield result
        except KeyboardInterrupt:
            checking.shutdown(wait=False, cancel_futures=True)  # a preflight still starting its kernel is abandoned
            raise
        finally:
            with _no_interrupts():
                checking.shutdown(wait=False)
                if zygote is not None:
                    zygote.close()  # its kernels end with it

    def _pages_dir(self, entry: Entry) -> Path:
        return self.results / "evidence" / report_name(entry.student_key) / "pages"

    def _for_entry(self, options: GradingOptions, entry: Entry) -> GradingOptions:
        """The student's documents beside their zip, and where their pages are rendered for grade review."""
        return dataclasses.replace(options, companions=entry.companions, pages_dir=self._pages_dir(entry))

    def _pages_missing(self, report: dict, entry: Entry) -> bool:
        """A kept grade whose document pages this results folder lacks is graded again, to render them."""
        return any(document.get("pages") and not (self._pages_dir(entry) / f"page-{document['first_page']}.png").is_file()
                   for document in report.get("documents", []) if not document.get("problem"))

    def _with_environment(self) -> GradingOptions:
        """The options with the course environment built once, before any worker needs it; a build that
        fails stops the run before anything is graded."""
        if self.rubric.environment is None:
            return self.options
        try:
            built = environment.ensure(self.rubric.environment, self.announce)
        except GraderFault as fault:
            raise BatchFault(fault) from None
        return dataclasses.replace(self.options, environment_paths=(str(built.site),))

    def _grade_in_pool(self, todo: list[tuple[Entry, str]], options: GradingOptions, jobs: int):
        # forkserver, not fork: this process has threads (the progress display); the server imports the
        # grader once (and torch and the references while their values are not kept on this machine) and
        # every worker is forked from it warm
        context = multiprocessing.get_context("forkserver")
        kept = values.store_path(self.rubric.values_version).exists()
        context.set_forkserver_preload(["grader.grading", "grader.batch.run",
                                        *([] if kept else ["torch", *self._reference_modules()])])
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context, initializer=_die_with_parent) as pool:
            try:
                futures = {pool.submit(grade_path, str(entry.path), str(self.rubric.path),
                                       self._for_entry(options, entry)): (entry, key) for entry, key in todo}
                for future in concurrent.futures.as_completed(futures):
                    entry, key = futures[future]
                    yield entry, key, self._guarded(future.result, entry)
            except KeyboardInterrupt:  # Ctrl-C: the submissions in flight are dropped now, not finished first
                with _no_interrupts():
                    for process in list(getattr(pool, "_processes", {}).values()):
                        process.kill()  # its kernels die with it (bubblewrap's --die-with-parent, the zygote)
                raise
            finally:  # a run stopped on a fault grades nobody else: what is queued is dropped, not run
                with _no_interrupts():
                    pool.shutdown(wait=True, cancel_futures=True)

    def _reference_modules(self) -> list[str]:
        """The importable modules the rubric's references live in (a file beside the rubric is run by
        each worker that needs it)."""
        modules = {reference.spec.split(":")[0] for _, _, reference in references(self.rubric)}
        return sorted(module for module in modules if not module.endswith(".py"))

    def _grade_on_dask(self, todo):
        from distributed import Client, as_completed  # optional: pip install "dlgrade[dask]"

        with Client(self.dask_address) as client:
            rubric_spec = self.rubric_spec if "/" not in self.rubric_spec else str(self.rubric.path)
            futures = {client.submit(grade_bytes, entry.name, entry.path.read_bytes(), rubric_spec, self.options,
                                     pure=False): (entry, key) for entry, key in todo}
            for future in as_completed(futures):
                entry, key = futures[future]
                yield entry, key, self._guarded(future.result, entry)

    def _guarded(self, produce: Callable[[], dict], entry: Entry) -> dict:
        try:
            return produce()
        except Exception as exc:  # a grader bug or a dead worker: not this student's grade
            return _fault_report(self.rubric, entry, fault_of(exc, f"while grading {entry.name} in a worker"))

    # --- one student's result ------------------------------------------------------------------------------

    def _finish(self, book: Gradebook, entry: Entry, key: str, raw: dict, reason: str) -> None:
        report = cache.rescore(raw, self.rubric)
        report_path = self.results / "reports" / f"{report_name(entry.student_key)}.json"
        legacy = self.results / "reports" / f"{_legacy_name(entry.student_key)}.json"
        previous = (_read_report(report_path) or _read_report(legacy, entry.name)
                    or book.previous_report(self.rubric.id, entry.student_key))
        report.setdefault("warnings", []).extend(cache.carry_manual_points(previous, report))
        _as_this_entry(report, entry, self.rubric)
        report["superseded"] = entry.superseded
        report["identity_conflicts"] = entry.conflicts
        report["warnings"].extend(f"identity to confirm: {conflict}" for conflict in entry.conflicts)
        report["submitted_at"] = entry.submitted_at.isoformat() if entry.submitted_at else None
        report["time_source"] = entry.time_source
        late_row = None
        policy = self.rubric.late
        deadline = policy.deadline.astimezone(timezone.utc).isoformat() if policy else None  # comparable as text
        if policy is not None and entry.time_source != PLATFORM:
            report["late"] = {"deadline": deadline, "budget": policy.budget, "assessed": False,
                              "why": LATE_NOT_ASSESSED, "final": report["total"]["score"]}
            report["warnings"].append(LATE_NOT_ASSESSED)
        elif policy is not None:
            used = book.late_days_used(entry.student_key, policy.budget, self.rubric.id, deadline)
            charge = late_policy.charge(policy, entry.submitted_at, used)
            report["late"] = {"deadline": deadline, "budget": policy.budget, "assessed": True,
                              "days_late": charge.days_late, "free_days_used": charge.free_days_used,
                              "free_days_left": max(0, policy.free_days - used - charge.free_days_used),
                              "penalty_percent": charge.penalty_percent, "refused": charge.refused,
                              "final": charge.final(report["total"]["score"])}
            late_row = (policy.budget, deadline, charge.days_late, charge.free_days_used)
        json_format.write_atomic(report_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        book.record(self.rubric.id, entry, key, raw, report, reason, late_row)
        if any(item.kind == "manual" and item.notebook for item in self.rubric.items):
            from ..review import evidence  # the notebook a TA reads for its manual items, for grade review

            evidence.write(entry.path, self.rubric, self.results / "evidence" / report_name(entry.student_key))


def _as_this_entry(report: dict, entry: Entry, rubric: Rubric) -> None:
    """A cached grade was made from the same bytes, perhaps under another student's file name: the file,
    the student and what was said about the name are always this entry's own."""
    graded_as = report["submission"].get("file")
    report["submission"]["file"] = entry.name
    report["student"] = asdict(entry.student)
    warnings = [w.replace(graded_as, entry.name) if graded_as else w for w in report.get("warnings", [])
                if not w.startswith("file name '")]
    _, problem = identify(entry.name, rubric.submission_pattern)
    if problem and not any(report["student"].values()):
        warnings.insert(0, problem)
    report["warnings"] = warnings


def _read_report(path: Path, file: str | None = None) -> dict | None:
    """The report a TA may have edited with ``grade manual`` since the last run (only if it is the report
    of ``file``, when given)."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(report, dict):
        return None
    if file is not None and (report.get("submission") or {}).get("file") != file:
        return None
    return report


def report_name(student_key: str) -> str:
    """A file name for one student's report that no other student's key can share: every character but
    letters (a Persian name's too), digits and ``_.-`` is percent-encoded (``%`` too, so the encoding is
    one-to-one); a long key is cut and followed by ``+`` and its hash (``+`` is always encoded, so no
    short key reaches it).  ``Alice_Smith`` and ``Alice Smith`` once shared ``Alice_Smith.json``, and with
    it manual points."""
    quoted = "".join(c if c.isalnum() or c in "_.-" else urllib.parse.quote(c, safe="") for c in student_key)
    if not quoted:
        return "+empty"
    if len(quoted) > 120:
        return f"{quoted[:100]}+{hashlib.sha256(student_key.encode()).hexdigest()[:16]}"
    return quoted


def _legacy_name(student_key: str) -> str:
    """The name reports had before ``report_name``: read once, when it is this submission's own report."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in student_key)[:120] or "submission"


def write_gradebook_csv(path: Path, rubric: Rubric, book: Gradebook) -> None:
    """``gradebook.csv``, rebuilt from the database: the same rows however many runs it took."""
    rows = exports.gradebook_rows([item.id for item in rubric.items], book.keyed_reports(rubric.id))
    json_format.write_atomic(path, exports.table(rows))


PLATFORM = "platform CSV"
LATE_NOT_ASSESSED = ("lateness not assessed: the platform's submission time was not given (grade batch --times); "
                     "the times inside a zip are set by whoever made it, so they are never used for it")


