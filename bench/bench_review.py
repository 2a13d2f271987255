"""How many decisions a TA makes to grade every manual item of hw5 for a class, with answer groups
against one per student.

A synthetic class of N students answers hw5's written manual items (the Q1 reasons and Q3(b)) the way a
real class does: a few ideas, each written by many students, in the same words or with case, spacing and
punctuation changed, a word swapped, or in words of their own; the notebook item (Q4) is left out, it
has no written answer.  The class is graded by the real ``grade batch``; the groups are the ones
``grade review`` shows (``Review.item_view``), and a decision is one group graded at once.

    python bench/bench_review.py                      # 150 students
    python bench/bench_review.py --size 150 --write bench/RESULTS-review.md
"""
from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grader.review.decisions import Review  # noqa: E402

IDEAS = {  # each item's ideas, most popular first, as students phrase them
    "q1.a.reason": ["Both take a sequence and give one label.", "Sentiment and classification need one output.",
                    "Many inputs, one output.", "Translation needs an output per word, so not a.",
                    "هر دو یک دنباله می‌گیرند و یک برچسب می‌دهند"],
    "q1.b.reason": ["The mood depends only on what came before.", "We cannot see the future, so unidirectional.",
                    "A bidirectional RNN would use future frames.", "علت: فقط گذشته در دسترس است"],
    "q1.c.reason": ["It predicts the next word given the previous ones.", "P(x_t | x_1..x_{t-1}).",
                    "The probability of the next token.", "احتمال کلمهٔ بعدی به شرط کلمات قبلی"],
    "q3.b": ["argmax has zero gradient almost everywhere, so the queries and keys never learn.",
             "argmax is not differentiable.", "The gradient of argmax is zero, nothing flows back.",
             "Use softmax instead because it is smooth.", "گرادیان argmax تقریبا همه جا صفر است"],
}
SWAPS = [("never", "do not"), ("one", "a single"), ("gives", "produces"), ("zero", "0"), ("next", "following")]


def written(idea: str, rng: random.Random, student: int) -> str:
    """One student's phrasing of an idea."""
    roll = rng.random()
    if roll < 0.55:
        return idea
    if roll < 0.80:  # the same words: case, spacing, punctuation
        text = idea.lower() if rng.random() < 0.5 else idea.upper() if rng.random() < 0.1 else idea
        return text.rstrip(".") + rng.choice(["", ".", "!", " ."])
    if roll < 0.93:  # a word swapped
        old, new = rng.choice(SWAPS)
        return idea.replace(old, new, 1) if old in idea else idea + " (see the slides)"
    return f"In my own words, answer {student}: " + " ".join(rng.sample(idea.split(), k=len(idea.split())))


def answers_file(student: int, rng: random.Random) -> str:
    lines = ["## q1.a\nb, c", "## q1.b\nc", "## q1.c\nc"]
    for item, ideas in IDEAS.items():
        weights = [1 / (rank + 1) ** 1.2 for rank in range(len(ideas))]
        lines.append(f"## {item}\n{written(rng.choices(ideas, weights)[0], rng, student)}")
    return "\n\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder, results = Path(tmp) / "class", Path(tmp) / "results"
        folder.mkdir()
        for student in range(args.size):
            with zipfile.ZipFile(folder / f"HW5_Student{student}_Test_4010{student:05d}.zip", "w") as archive:
                archive.writestr("answers.md", answers_file(student, rng))
        subprocess.run([sys.executable, "-m", "grader", "batch", str(folder), "--rubric", "hw5", "--out", str(results),
                        "--quiet"], check=True, capture_output=True)
        review = Review(results)
        rows, total_groups, total_answers, slowest = [], 0, 0, 0.0
        for item in IDEAS:
            started = time.perf_counter()
            view = review.item_view(item)
            slowest = max(slowest, time.perf_counter() - started)
            groups = view["groups"]
            largest = max(len(group) for group in groups)
            rows.append(f"| {item} | {args.size} | {len(groups)} | {args.size / len(groups):.1f}× | {largest} |")
            total_groups += len(groups)
            total_answers += args.size
        review.close()
    table = "\n".join(["| item | answers (one decision each) | groups (one decision each) | fewer decisions | "
                       "largest group |", "| --- | ---: | ---: | ---: | ---: |", *rows,
                       f"| all | {total_answers} | {total_groups} | {total_answers / total_groups:.1f}× | |"])
    print(table)
    print(f"slowest item view (grouping {args.size} answers): {slowest * 1000:.0f} ms")
    if args.write:
        args.write.write_text(
            f"# Manual grading with answer groups\n\n`python bench/bench_review.py --size {args.size} --seed {args.seed}`: "
            f"a synthetic class of {args.size} answering hw5's written manual items (a few ideas each, most students "
            "in the same or nearly the same words, some in their own), graded by `grade batch`, grouped as "
            "`grade review` shows them.\n\n" + table +
            f"\n\nThe slowest item view (grouping {args.size} answers) took {slowest * 1000:.0f} ms.\n", encoding="utf-8")


if __name__ == "__main__":
    main()
