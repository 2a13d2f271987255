"""How long `grade similar` takes on a synthetic class, against the floor of merely reading it.

    python bench/bench_similar.py --size 500 [--write bench/RESULTS-similar.md]

The class (tests/similarity_class.py): each submission one of four independent solutions, renamed,
reordered and commented at random, a tenth of them the bare template.  Measured in one run:
the floor (a fresh Python that opens every zip and parses every notebook, nothing more) and the whole
`grade similar` command (start, read, fingerprint, index, rank, render JSON), best of --repeat.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from similarity_class import random_class, write_template_rubric  # noqa: E402

FLOOR = """
import json, sys, zipfile, pathlib
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.zip")):
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            json.loads(archive.read(name))
"""


def best_of(repeat: int, command: list[str]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", type=Path)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        random_class(root / "class", options.size)
        rubric = write_template_rubric(root / "rubric")
        floor = best_of(options.repeat, [sys.executable, "-c", FLOOR, str(root / "class")])
        command = [sys.executable, "-m", "grader", "similar", str(root / "class"), "--rubric", str(rubric),
                   "--format", "json", "--quiet", "--top", "100"]
        similar = best_of(options.repeat, command)
        pairs = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)["pairs"]
    lines = [f"# `grade similar` benchmark", "",
             f"Command: `python bench/bench_similar.py --size {options.size} --repeat {options.repeat}` "
             "(one run, this machine; best of the repeats).", "",
             f"Class: {options.size} synthetic hw3 P1 submissions (tests/similarity_class.py).", "",
             "| measure | seconds | ratio |", "| --- | --- | --- |",
             f"| floor: a fresh Python that opens every zip and parses every notebook | {floor:.2f} | 1 |",
             f"| `grade similar` (read, fingerprint, index, rank, JSON) | {similar:.2f} | {similar / floor:.1f} × floor |",
             f"| per submission | {similar / options.size * 1000:.1f} ms | |", "",
             f"Top pair score {pairs[0]['score']:.2f}; {len(pairs)} pairs reported."]
    text = "\n".join(lines) + "\n"
    print(text)
    if options.write:
        options.write.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
