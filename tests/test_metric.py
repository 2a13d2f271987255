"""``metric``: a metric recomputed from the student's predictions against the TA's labels; every
problem with the predictions is an error that names it."""
import json
import subprocess

import numpy as np
import pytest

from grader import rubric as rubric_module
from grader.grading import GradingOptions, grade
from grader.checks.scores import matthews_corrcoef

from helpers import GRADE, write_zip

RUBRIC = '''
[assignment]
id = "cola"
submission = 'HW7_(?P<first>[^_]+)_(?P<last>[^_]+)_(?P<student_id>\\d+)\\.zip'
[[items]]
id = "q2.mcc"
kind = "metric"
points = 10
predictions = ["predictions*.csv", "*.csv"]
labels = "labels/out_of_domain_dev.csv"
metric = "mcc"
threshold = 0.5
zero_at = 0.0
'''
RNG = np.random.default_rng(0)
LABELS = RNG.integers(2, size=200)


def csv_of(values, header="id,label"):
    return header + "\n" + "".join(f"s{i},{v}\n" for i, v in enumerate(values))


def noisy(accuracy):
    flip = np.random.default_rng(1).random(200) > accuracy
    return np.where(flip, 1 - LABELS, LABELS)


@pytest.fixture
def cola(write_rubric):
    return rubric_module.load(write_rubric(RUBRIC, {"labels/out_of_domain_dev.csv": csv_of(LABELS)}))


def grade_predictions(tmp_path, rubric, text, name="predictions.csv"):
    report = grade(write_zip(tmp_path / "HW7_A_B_1.zip", {name: text}), rubric)
    return report.items[0]


def test_mcc_at_or_above_the_threshold_earns_full_marks(tmp_path, cola):
    item = grade_predictions(tmp_path, cola, csv_of(noisy(0.95), "id,prediction"))
    expected = matthews_corrcoef(list(LABELS.astype(str)), list(noisy(0.95).astype(str)))
    assert item.status == "passed" and item.details["value"] == pytest.approx(expected)
    assert item.feedback.startswith("MCC = ") and "≥ 0.5" in item.feedback


def test_below_the_threshold_the_credit_scales_from_zero_at(tmp_path, cola):
    item = grade_predictions(tmp_path, cola, csv_of(noisy(0.6)))
    value = item.details["value"]
    assert 0 < value < 0.5 and item.status == "partial" and item.score == pytest.approx(10 * value / 0.5)
    item = grade_predictions(tmp_path, cola, csv_of(1 - LABELS))
    assert item.status == "failed" and item.score == 0


@pytest.mark.parametrize("text, message", [
    (csv_of(LABELS[:150]), "no prediction for 50 id(s): s150, s151"),
    (csv_of(LABELS) + "s3,1\n", "duplicate ids: s3"),
    (csv_of(LABELS) + "extra9,1\n", "not in the evaluation set: extra9"),
    (csv_of(np.where(LABELS == 1, 2, 0)), "labels that do not exist: 2"),
    ("s0\ns1\n", "expected 'id,value'"),
])
def test_bad_predictions_are_errors_that_say_which(tmp_path, cola, text, message):
    item = grade_predictions(tmp_path, cola, text)
    assert item.status == "error" and message in item.feedback, item.feedback


def test_missing_predictions_file_and_missing_labels(tmp_path, cola):
    report = grade(write_zip(tmp_path / "s.zip", {"notes.txt": "x"}), cola)
    assert report.items[0].status == "error" and "no predictions file matching" in report.items[0].feedback
    (cola.folder / "labels" / "out_of_domain_dev.csv").unlink()
    item = grade_predictions(tmp_path, cola, csv_of(LABELS))
    # the TA's missing labels are a fault of the grading, never the student's zero
    assert item.status == "grader_error" and "labels of" in item.feedback and "cannot be read" in item.feedback
    assert item.score == 0 and "--data" in item.details["fault"]["fix"]


def test_the_ta_can_point_at_labels_with_data_through_the_cli(tmp_path, cola):
    data = tmp_path / "data"
    data.mkdir()
    (data / "out_of_domain_dev.csv").write_text(csv_of(1 - LABELS))  # the real labels live elsewhere
    zip_path = write_zip(tmp_path / "HW7_Sara_Ahmadi_1.zip", {"predictions.csv": csv_of(1 - LABELS)})
    done = subprocess.run([*GRADE, str(zip_path), "--rubric", str(cola.path), "--data", str(data), "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    item = json.loads(done.stdout)["items"][0]
    assert item["status"] == "passed" and item["details"]["value"] == 1.0, item
