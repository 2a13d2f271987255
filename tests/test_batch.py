"""``grade batch`` and ``grade stats`` through the real CLI on a small class built from the examples:
the latest submission counts, a broken zip loses nothing, SIGKILL and a rerun give the gradebook of an
uninterrupted run, a points-only change re-scores from the cache, late days come out of one budget
across assignments, and the Dask path grades the same class."""
import csv
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from grader.batch.run import jobs_for
from grader.execution.limits import Limits
from helpers import EXAMPLES, GRADE, REPO, restamped_zip

SARA, ALI, MARYAM = (EXAMPLES / f"HW3_{n}.zip" for n in ("Sara_Ahmadi_401234567", "Ali_Rezaei_401234568",
                                                           "Maryam_Hosseini_401234569"))


def run_batch(source, results, *extra, check=True):
    done = subprocess.run([*GRADE, "batch", str(source), "--rubric", extra[0] if extra else "hw3", "--out", str(results),
                           "--quiet", *extra[1:]], capture_output=True, text=True, timeout=600)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def gradebook(results):
    with open(results / "gradebook.csv", newline="", encoding="utf-8-sig") as handle:
        return {row["student_key"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """Sara, Maryam, Ali twice (an early buggy upload and a later one) and a file that is not a zip."""
    folder = tmp_path_factory.mktemp("class")
    for path in (SARA, MARYAM):
        shutil.copy(path, folder / path.name)
    shutil.copy(SARA, folder / "1_HW3_Ali_Rezaei_401234568.zip")   # the platform's prefix; uploaded first
    shutil.copy(ALI, folder / "2_HW3_Ali_Rezaei_401234568.zip")
    (folder / "HW3_Broken_Upload_401234999.zip").write_bytes(b"this is not a zip")
    times = folder.parent / f"{folder.name}-times.csv"
    times.write_text("file,submitted\n1_HW3_Ali_Rezaei_401234568.zip,2025-11-20T10:00:00+03:30\n"
                     "2_HW3_Ali_Rezaei_401234568.zip,2025-11-21T09:00:00+03:30\n"
                     "HW3_Sara_Ahmadi_401234567.zip,2025-11-19T12:00:00+03:30\n"
                     "HW3_Maryam_Hosseini_401234569.zip,2025-11-24T08:00:00+03:30\n")
    return folder, times


@pytest.fixture(scope="module")
def uninterrupted(klass, tmp_path_factory):
    folder, times = klass
    results = tmp_path_factory.mktemp("results")
    done = run_batch(folder, results, "hw3", "--jobs", "2", "--times", str(times))
    return results, done


def test_the_class_is_graded_into_a_gradebook(uninterrupted):
    results, done = uninterrupted
    rows = gradebook(results)
    assert set(rows) == {"401234567", "401234568", "401234569", "401234999"}
    assert rows["401234567"]["final"] == "20" and rows["401234569"]["auto_total"] == "16"
    ali = rows["401234568"]
    assert ali["file"] == "2_HW3_Ali_Rezaei_401234568.zip" and ali["superseded"] == "1_HW3_Ali_Rezaei_401234568.zip"
    assert ali["auto_total"] == "14.5" and ali["first"] == "Ali" and ali["time_source"] == "platform CSV"
    assert rows["401234999"]["status"] == "error" and rows["401234999"]["final"] == "0"
    assert "4 students: 4 graded" in " ".join(done.stderr.split()) and "1 unreadable" in done.stderr
    report = json.loads((results / "reports" / "401234568.json").read_text())
    assert report["items"][6]["id"] == "p1.lstm_cell_backward" and "dc_prev" in report["items"][6]["feedback"]


def test_warm_and_cold_kernels_give_the_same_gradebook(uninterrupted, klass, tmp_path):
    """The uninterrupted run forked its kernels from the zygote (where this machine allows it); a cold
    run of the same class, one kernel process started per notebook, grades every item the same."""
    from grader.execution.sandbox import protections_for
    from grader.execution.zygote import usable

    folder, times = klass
    run_batch(folder, tmp_path, "hw3", "--cold", "--times", str(times))
    warm, cold = gradebook(uninterrupted[0]), gradebook(tmp_path)
    assert warm == cold
    sara = "401234567.json"
    warm_report = json.loads((uninterrupted[0] / "reports" / sara).read_text())
    assert warm_report["sandbox"]["warm_kernels"] is usable(protections_for("auto", Limits()))
    assert json.loads((tmp_path / "reports" / sara).read_text())["sandbox"]["warm_kernels"] is False


def test_a_rerun_grades_nothing_again(uninterrupted, klass):
    results, _ = uninterrupted
    before = (results / "gradebook.csv").read_text()
    folder, times = klass
    started = time.monotonic()
    done = run_batch(folder, results, "hw3", "--times", str(times))
    assert "0 graded, 4 from the cache" in " ".join(done.stderr.split())
    assert (results / "gradebook.csv").read_text() == before
    assert time.monotonic() - started < 30


def test_sigkill_in_the_middle_then_a_rerun_gives_the_same_gradebook(uninterrupted, klass, tmp_path):
    folder, times = klass
    results = tmp_path / "results"
    command = [*GRADE, "batch", str(folder), "--rubric", "hw3", "--out", str(results), "--quiet", "--times", str(times)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any((results / "reports").glob("*.json")):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    written = sorted(p.name for p in (results / "reports").glob("*.json"))
    assert 1 <= len(written) < 4, written  # killed in the middle
    assert not list((results / "reports").glob(".*.tmp"))  # no half-written report is left in sight
    run_batch(folder, results, "hw3", "--times", str(times))
    assert (results / "gradebook.csv").read_text() == (uninterrupted[0] / "gradebook.csv").read_text()
    with sqlite3.connect(results / "gradebook.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM cache").fetchone()[0] == 4


def copied_rubric(tmp_path, extra=""):
    folder = tmp_path / "rubric"
    shutil.copytree(REPO / "rubrics" / "hw3", folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "rubric.toml").write_text((folder / "rubric.toml").read_text() + extra)
    return folder / "rubric.toml"


def test_a_points_only_change_rescores_from_the_cache_and_keeps_manual_points(uninterrupted, klass, tmp_path):
    folder, times = klass
    rubric = copied_rubric(tmp_path)
    results = tmp_path / "results"
    shutil.copytree(uninterrupted[0], results)
    first = run_batch(folder, results, str(rubric), "--times", str(times))
    assert "0 graded, 4 from the cache" in " ".join(first.stderr.split())  # a copy of the rubric is the same rubric
    report = results / "reports" / "401234569.json"
    subprocess.run([*GRADE, "manual", str(report), "--set", "p1.rnn_backward=1.5", "--override", "--comment", "seen"],
                   check=True, capture_output=True, timeout=60)
    rubric.write_text(rubric.read_text().replace("points = 3", "points = 6"))
    started = time.monotonic()
    done = run_batch(folder, results, str(rubric), "--times", str(times))
    elapsed = time.monotonic() - started
    assert "0 graded, 4 from the cache" in " ".join(done.stderr.split()), done.stderr
    ali = gradebook(results)["401234568"]
    assert ali["max"] == "32" and ali["p1.lstm_backward"] == "1"  # 0.5 of 3 becomes 1 of 6
    maryam = json.loads(report.read_text())
    kept = next(i for i in maryam["items"] if i["id"] == "p1.rnn_backward")
    assert kept["score"] == 1.5 and kept["feedback"] == "seen" and gradebook(results)["401234569"]["p1.rnn_backward"] == "1.5"
    assert elapsed < 30


def test_late_days_come_from_one_budget_across_assignments(klass, tmp_path):
    folder, times = klass
    late = ('\n[late]\ndeadline = "2025-11-21T23:59:00+03:30"\nbudget = "practical"\nfree_days = 2\n'
            'penalty_per_day = 10\nrefuse_after_days = 7\n')
    first = copied_rubric(tmp_path / "a", late)
    results = tmp_path / "results"
    run_batch(folder, results, str(first), "--times", str(times))
    maryam = gradebook(results)["401234569"]   # submitted 2025-11-24 08:00: 3 days late, 2 free
    assert (maryam["late_days"], maryam["free_days_used"], maryam["penalty_percent"]) == ("3", "2", "10")
    assert maryam["final"] == "14.4"
    second = copied_rubric(tmp_path / "b", late.replace("2025-11-21", "2025-11-22").replace('id = "hw3"', 'id = "hw3"'))
    second.write_text(second.read_text().replace('id = "hw3"', 'id = "hw3-again"', 1))
    run_batch(folder, results, str(second), "--times", str(times))
    again = json.loads((results / "reports" / "401234569.json").read_text())["late"]
    assert again["days_late"] == 2 and again["free_days_used"] == 0 and again["penalty_percent"] == 20


def test_without_platform_times_lateness_is_not_judged_from_the_zips_own_times(klass, tmp_path):
    """Maryam uploaded three days late; her zip's entries say 1980.  The platform's time charges her; the
    zip's, which she sets, is never used for it: without --times lateness is reported as not assessed."""
    folder, times = klass
    backdated = tmp_path / "class"
    shutil.copytree(folder, backdated)
    restamped_zip(MARYAM, backdated / MARYAM.name, 1980)
    late = ('\n[late]\ndeadline = "2025-11-21T23:59:00+03:30"\nbudget = "practical"\nfree_days = 0\n'
            'penalty_per_day = 10\n')
    rubric = copied_rubric(tmp_path / "r", late)
    with_times, without = tmp_path / "with", tmp_path / "without"
    run_batch(backdated, with_times, str(rubric), "--times", str(times))
    assert gradebook(with_times)["401234569"]["late_days"] == "3"
    run_batch(backdated, without, str(rubric))
    row = gradebook(without)["401234569"]
    assert row["late_days"] == "not assessed" and row["final"] == row["auto_total"] and row["time_source"] == "zip entries"
    report = json.loads((without / "reports" / "401234569.json").read_text())
    assert report["late"]["assessed"] is False and "never used" in report["late"]["why"]
    assert any("lateness not assessed" in warning for warning in report["warnings"])


def test_identity_conflicts_are_flagged_to_the_ta_never_resolved_silently(tmp_path):
    """Eve uploads, from her own platform folder, a later zip named with Sara's name and id; Sara's id also
    arrives under another name; and one name comes with two ids.  The gradebook says so on each row."""
    folder = tmp_path / "class"
    restamped_zip(SARA, folder / "Sara Ahmadi_1001_assignsubmission_file_" / SARA.name, 2025)
    restamped_zip(ALI, folder / "Eve Mallory_1002_assignsubmission_file_" / SARA.name, 2026)   # later: would count
    restamped_zip(MARYAM, folder / "Maryam Hosseini_1003_assignsubmission_file_" / "HW3_Mina_Karimi_401234569.zip", 2025)
    restamped_zip(MARYAM, folder / "Maryam Hosseini_1003_assignsubmission_file_" / MARYAM.name, 2024)
    restamped_zip(ALI, folder / "Ali Rezaei_1004_assignsubmission_file_" / ALI.name, 2025)
    restamped_zip(ALI, folder / "Ali Rezaei_1005_assignsubmission_file_" / "HW3_Ali_Rezaei_401239999.zip", 2025)
    results = tmp_path / "results"
    done = subprocess.run([*GRADE, "batch", str(folder), "--rubric", "hw3", "--out", str(results)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = gradebook(results)
    assert rows["401234567"]["status"] == "identity to confirm"
    sara = json.loads((results / "reports" / "401234567.json").read_text())
    assert any("2 folders" in c and "Eve Mallory" in c for c in sara["identity_conflicts"])
    assert rows["401234569"]["status"] == "identity to confirm"   # one id, two names
    assert any("2 names" in c for c in json.loads((results / "reports" / "401234569.json").read_text())["identity_conflicts"])
    assert rows["401234568"]["status"] == rows["401239999"]["status"] == "identity to confirm"  # one name, two ids
    assert "identity to confirm" in " ".join((done.stdout + done.stderr).split())


def test_stats_flags_an_item_nobody_passes(uninterrupted):
    done = subprocess.run([*GRADE, "stats", str(uninterrupted[0])], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "hw3 4 students, 1 unreadable" in text and "nobody passed" not in text
    assert "slowest:" in text


def test_a_zip_of_zips_is_unpacked_safely(tmp_path):
    export = tmp_path / "export.zip"
    with zipfile.ZipFile(export, "w") as archive:
        archive.write(SARA, "Sara Ahmadi_1_assignsubmission_file_/HW3_Sara_Ahmadi_401234567.zip")
        archive.writestr("../../evil/HW3_Evil_Student_401234000.zip", b"not a zip")
        archive.writestr("readme.txt", "ignored")
    results = tmp_path / "results"
    run_batch(export, results)
    rows = gradebook(results)
    assert rows["401234567"]["final"] == "20" and rows["401234000"]["status"] == "error"
    assert not (tmp_path.parent / "evil").exists() and (results / "inbox" / "HW3_Evil_Student_401234000.zip").is_file()


def test_the_dask_path_grades_on_a_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    folder = tmp_path / "class"
    folder.mkdir()
    for path in (SARA, ALI):
        shutil.copy(path, folder / path.name)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None, processes=True) as cluster:
        run_batch(folder, tmp_path / "results", "hw3", "--dask", cluster.scheduler_address)
    rows = gradebook(tmp_path / "results")
    assert rows["401234567"]["final"] == "20" and rows["401234568"]["final"] == "14.5"


def test_identical_bytes_from_two_students_are_each_recorded_as_their_own(tmp_path):
    """Sara and Ali hand in the same bytes: the second is graded from the cache, and a rerun grades both
    from it; every report and row still names the student's own file, never the other's."""
    folder = tmp_path / "class"
    folder.mkdir()
    answers = (REPO / "rubrics" / "hw5" / "examples" / "answers_correct.md").read_bytes()
    for name in ("HW5_Sara_Ahmadi_401234567.zip", "HW5_Ali_Rezaei_401234568.zip"):
        with zipfile.ZipFile(folder / name, "w") as archive:
            info = zipfile.ZipInfo("answers.md", date_time=(2025, 11, 20, 10, 0, 0))
            archive.writestr(info, answers)
    sara, ali = folder / "HW5_Sara_Ahmadi_401234567.zip", folder / "HW5_Ali_Rezaei_401234568.zip"
    assert sara.read_bytes() == ali.read_bytes()
    results = tmp_path / "results"
    for _ in range(2):  # the first run, then a rerun entirely from the cache
        run_batch(folder, results, "hw5")
        for student_id, first, file in (("401234567", "Sara", "HW5_Sara_Ahmadi_401234567.zip"),
                                        ("401234568", "Ali", "HW5_Ali_Rezaei_401234568.zip")):
            report = json.loads((results / "reports" / f"{student_id}.json").read_text())
            assert report["submission"]["file"] == file and report["student"]["first"] == first, report["submission"]
            assert not any("Sara" in w for w in report["warnings"]) or first == "Sara", report["warnings"]
            assert gradebook(results)[student_id]["file"] == file


def _descendants(root: int) -> set[int]:
    """Every live process below ``root``: workers, the zygote, sandboxes and kernels."""
    parents = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(status.parent.name)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def test_one_ctrl_c_stops_promptly_keeps_what_finished_and_exits_130(tmp_path):
    """Through a real terminal: Ctrl-C once the first results are in; the batch stops within seconds, no
    kernel is left running, the finished results are kept, one line says how to go on, and a rerun does."""
    import pty
    import select

    folder, results = tmp_path / "class", tmp_path / "results"
    for index in range(10):  # distinct bytes, so nothing comes from the cache: each takes a kernel
        restamped_zip(SARA if index % 2 else ALI, folder / f"HW3_Student{index}_Test_40123{index:04d}.zip", 2015 + index)
    pid, terminal = pty.fork()
    if pid == 0:  # the child: grade, with the pseudo-terminal as its controlling terminal
        os.execvp(GRADE[0], [*GRADE, "batch", str(folder), "--rubric", "hw3", "--out", str(results), "--jobs", "2"])
    output, deadline = b"", time.monotonic() + 240

    def read_for(seconds):
        nonlocal output
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if select.select([terminal], [], [], 0.2)[0]:
                try:
                    output += os.read(terminal, 65536)
                except OSError:
                    return
    while time.monotonic() < deadline and len(list((results / "reports").glob("*.json"))) < 2:
        read_for(0.5)
    kept_before = len(list((results / "reports").glob("*.json")))
    assert 2 <= kept_before < 10, output.decode(errors="replace")
    running = _descendants(pid)
    assert len(running) > 2  # workers, the zygote and kernels were at work
    os.write(terminal, b"\x03")  # Ctrl-C, through the terminal's line discipline: SIGINT to the foreground group
    interrupted = time.monotonic()
    status = None
    while status is None and time.monotonic() - interrupted < 30:
        read_for(0.3)
        finished, code = os.waitpid(pid, os.WNOHANG)
        status = os.waitstatus_to_exitcode(code) if finished else None
    stopped_in = time.monotonic() - interrupted
    read_for(0.5)
    said = " ".join(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.decode(errors="replace")).split())
    assert status == 130, (status, said[-2000:])
    assert stopped_in < 15, stopped_in
    assert "Traceback" not in said and "run the same command again" in said, said[-2000:]
    time.sleep(2)
    assert not _alive(running), "processes of the batch outlived it"
    kept = {p.stem for p in (results / "reports").glob("*.json")}
    assert len(kept) >= kept_before and set(gradebook(results)) == kept
    done = run_batch(folder, results, "hw3", "--jobs", "2")  # and the rerun grades the rest
    assert len(gradebook(results)) == 10 and f"{len(kept)} from the cache" in " ".join(done.stderr.split())


@pytest.mark.parametrize("submissions, cores, available_mb, kernel_mb, jobs", [
    (100, 2, 24_000, 4096, 2),    # this machine: one a core
    (100, 64, 64_000, 4096, 14),  # many cores: as many kernels as the memory holds at their limit
    (1, 8, 64_000, 4096, 1),      # one submission is graded in the coordinator, with no pool to start
    (100, 8, 1_000, 4096, 1),     # too little memory for one kernel at its limit: still one at a time
])
def test_auto_jobs_are_one_a_core_as_many_as_the_memory_holds(submissions, cores, available_mb, kernel_mb, jobs):
    assert jobs_for(submissions, cores, available_mb, kernel_mb) == jobs
