"""Written answers to the bundled theory rubrics, as students write them (tests/corpus/*.toml): every
right answer earns full marks, every wrong one nothing and the feedback named, every partial one part
of the points, every unclear choice goes to a TA; no answer ends in an internal error, and a number is
read as itself or not at all."""
import re
import tomllib
import zipfile
from pathlib import Path

import pytest

from grader import rubric as rubric_module
from grader.grading import grade

CORPUS = Path(__file__).parent / "corpus"


def corpus() -> list[tuple[str, str, str, str, str]]:
    """(rubric, item, expectation, answer, feedback that must appear) for every answer of the corpus."""
    entries = []
    for path in sorted(CORPUS.glob("*.toml")):
        for question in tomllib.loads(path.read_text(encoding="utf-8"))["q"]:
            for answer in question.get("right", []):
                entries.append((path.stem, question["item"], "right", answer, ""))
            for answer in question.get("partial", []):
                entries.append((path.stem, question["item"], "partial", answer, ""))
            for answer in question.get("pending", []):
                entries.append((path.stem, question["item"], "pending", answer, ""))
            for answer, feedback in question.get("wrong", []):
                entries.append((path.stem, question["item"], "wrong", answer, feedback))
    return entries


ENTRIES = corpus()


def graded(rubric_id: str, item_id: str, answer: str, folder: Path):
    path = folder / "HW_Sara_Ahmadi_401234567.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("answers.md", f"## {item_id}\n{answer.strip()}\n")
    report = grade(path, rubric_module.load(rubric_id))
    return next(item for item in report.items if item.id == item_id)


def test_the_corpus_is_large_and_covers_every_automatic_item():
    assert len(ENTRIES) >= 300
    assert sum(1 for e in ENTRIES if e[2] == "right") >= 150 and sum(1 for e in ENTRIES if e[2] == "wrong") >= 100
    assert any(any("\u0600" <= ch <= "\u06ff" for ch in e[3]) for e in ENTRIES)  # Persian answers too
    for rubric_id in {e[0] for e in ENTRIES}:
        automatic = {i.id for i in rubric_module.load(rubric_id).items if i.kind != "manual"}
        assert automatic <= {e[1] for e in ENTRIES if e[0] == rubric_id}, automatic - {e[1] for e in ENTRIES}


@pytest.mark.parametrize("rubric_id, item_id, expectation, answer, feedback", ENTRIES,
                         ids=[f"{e[0]}:{e[1]}:{e[2]}:{i}" for i, e in enumerate(ENTRIES)])
def test_each_written_answer_gets_its_verdict(rubric_id, item_id, expectation, answer, feedback, tmp_path):
    result = graded(rubric_id, item_id, answer, tmp_path)
    assert result.status not in ("error", "grader_error"), result.feedback
    if expectation == "right":
        assert (result.status, result.score) == ("passed", result.points), result.feedback
    elif expectation == "partial":
        assert 0 < result.score < result.points, (result.status, result.feedback)
    elif expectation == "pending":
        assert (result.status, result.score) == ("manual", 0), (result.status, result.feedback)
    else:
        assert result.score == 0 and result.status == "failed", (result.status, result.feedback)
        assert feedback in result.feedback, result.feedback


def test_no_number_of_the_corpus_is_read_as_another_number(tmp_path):
    """Every answer that is one number written with digits and separators is read as exactly that number,
    whether the number is right or wrong."""
    digits = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")
    checked = 0
    for rubric_id, item_id, _, answer, _ in ENTRIES:
        written = answer.strip().translate(digits)
        if not re.fullmatch(r"\d{1,3}(?:([,٬ ])\d{3}(?:\1\d{3})*)?|\d+", written):
            continue
        result = graded(rubric_id, item_id, answer, tmp_path)
        if result.kind != "numeric":
            continue
        assert result.details.get("answer") == int(re.sub(r"\D", "", written)), (item_id, answer, result.feedback)
        checked += 1
    assert checked >= 40
