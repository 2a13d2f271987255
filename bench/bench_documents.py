"""Theory handed in as documents: a class graded by `grade batch`, against the same answers handed in as
dlgrade's answers file, in the same interleaved rounds; and the review app's time to show one question.

The class: ``--typed`` typed 10-page PDFs carrying hw5's answers (the answers spread over the pages, with
filler prose between them, as a student's write-up has), and ``--photos`` submissions of two phone photos
each.  The baseline: the same number of students whose zips hold the same answers as ``answers.md``.
Figures are medians of ``--repeat`` interleaved rounds on this machine, each round a fresh results folder:
seconds per submission, and the ratio of documents to answers files.  Then one results folder of
``--review`` students is served by ``grade review``'s app and the time to answer ``GET /api/item/q2.b``
(every student's answer, groups, proposals and page links) is measured.

    python bench/bench_documents.py                         # 100 typed, 20 photographed, 2 jobs, 3 rounds
    python bench/bench_documents.py --write bench/RESULTS-documents.md
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from documents import HW5_CORRECT, hw5_lines, photo, typed_pdf  # noqa: E402  (the tests' own builders)

FILLER = ("In this part we use the definitions of the lecture notes and the notation of the question; the steps "
          "below follow the chain rule through time.")


def typed_class(folder: Path, count: int) -> None:
    lines = hw5_lines(HW5_CORRECT, "en")
    per_page = max(1, len(lines) // 10 + 1)
    pages = [lines[i:i + per_page] + [FILLER] * 6 for i in range(0, len(lines), per_page)]
    pages += [[FILLER] * 8] * (10 - len(pages))
    template = typed_pdf(folder / "template.pdf", pages[:10])
    data = template.read_bytes()
    template.unlink()
    for index in range(count):
        (folder / f"HW5_Student{index}_Typed_{401000000 + index}.pdf").write_bytes(data)


def photo_class(folder: Path, count: int) -> None:
    lines = hw5_lines(HW5_CORRECT, "en")
    half = len(lines) // 2
    first = photo(folder / "first.jpg", lines[:half], exif_orientation=6, rotate_degrees=2)
    second = photo(folder / "second.jpg", lines[half:], rotate_degrees=-1.5)
    for index in range(count):
        student = f"HW5_Student{index}_Photo_{402000000 + index}"
        (folder / f"{student} (1).jpg").write_bytes(first.read_bytes())
        (folder / f"{student} (2).jpg").write_bytes(second.read_bytes())
    first.unlink()
    second.unlink()


def answers_class(folder: Path, count: int) -> None:
    answers = (REPO / "rubrics" / "hw5" / "examples" / "answers_correct.md").read_bytes()
    for index in range(count):
        with zipfile.ZipFile(folder / f"HW5_Student{index}_Answers_{403000000 + index}.zip", "w") as archive:
            archive.writestr("answers.md", answers)


def batch(source: Path, results: Path, jobs: int) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grader", "batch", str(source), "-r", "hw5", "-o", str(results),
                    "-j", str(jobs), "--quiet"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def review_time(results: Path, repeat: int) -> tuple[float, int]:
    from grader.review.server import App, serve_in_thread

    app = App(results, "hw5", "bench")
    server, address = serve_in_thread(app)
    base = address.split("/?")[0]
    try:
        request = urllib.request.Request(f"{base}/api/item/q2.b", headers={"X-Review-Token": app.token})
        timings, size = [], 0
        for _ in range(repeat + 1):
            started = time.perf_counter()
            with urllib.request.urlopen(request) as response:
                size = len(response.read())
            timings.append(time.perf_counter() - started)
        return statistics.median(timings[1:]), size
    finally:
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--typed", type=int, default=100)
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--review", type=int, default=150, help="students in the review app's results folder")
    parser.add_argument("--write", type=Path, help="also write the table as Markdown to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        documents, answers = root / "documents", root / "answers"
        documents.mkdir()
        answers.mkdir()
        typed_class(documents, args.typed)
        photo_class(documents, args.photos)
        answers_class(answers, args.typed + args.photos)
        students = args.typed + args.photos
        rounds = {"documents": [], "answers": []}
        for round_number in range(args.repeat):
            for name, source in (("documents", documents), ("answers", answers)):
                rounds[name].append(batch(source, root / f"results-{name}-{round_number}", args.jobs) / students)
        review = root / "review"
        review.mkdir()
        typed_class(review, args.review - args.review // 5)
        photo_class(review, args.review // 5)
        batch(review, root / "results-review", args.jobs)
        shown, size = review_time(root / "results-review", 15)
        pages = sum(1 for _ in (root / "results-review" / "evidence").rglob("page-*.png"))
    per_document = statistics.median(rounds["documents"])
    per_answers = statistics.median(rounds["answers"])
    lines = [
        f"# Theory as documents (bench/bench_documents.py, {os.cpu_count()} cores, {args.jobs} jobs)", "",
        f"A class of {args.typed} typed 10-page PDFs and {args.photos} submissions of two phone photos, hw5's "
        f"answers; against {students} zips of the same answers as answers.md. Medians of {args.repeat} interleaved "
        "rounds, each into a fresh results folder (reading, placing, proposing, rendering every page).", "",
        "| measure | value |", "| --- | ---: |",
        f"| `grade batch`, documents: seconds per submission (to evidence and proposals) | {per_document:.3f} |",
        f"| `grade batch`, answers files: seconds per submission | {per_answers:.3f} |",
        f"| documents ÷ answers files | {per_document / per_answers:.2f} |",
        f"| review app, `GET /api/item/q2.b` for {args.review} students (median of 15) | {shown * 1000:.0f} ms "
        f"({size // 1024} KiB) |",
        f"| page images written for those {args.review} students | {pages} |", "",
        "Rounds (s per submission): documents " + ", ".join(f"{x:.3f}" for x in rounds["documents"])
        + "; answers files " + ", ".join(f"{x:.3f}" for x in rounds["answers"]), ""]
    text = "\n".join(lines)
    print(text)
    if args.write:
        args.write.write_text(text)


if __name__ == "__main__":
    main()
