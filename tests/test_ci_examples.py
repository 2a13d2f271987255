"""The CI examples end to end: the GitHub job's grading script (summary, artifacts, exit status) and
Gradescope's run_autograder on a fake /autograder tree."""
import json
import os
import subprocess
import zipfile

from helpers import EXAMPLES, REPO

CI = REPO / "examples" / "ci"
SARA, ALI = EXAMPLES / "HW3_Sara_Ahmadi_401234567.zip", EXAMPLES / "HW3_Ali_Rezaei_401234568.zip"


def test_the_github_job_writes_the_summary_and_reports_and_fails_below_the_threshold(tmp_path):
    summary = tmp_path / "summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary), "REPORTS_DIR": str(tmp_path / "reports"), "FAIL_UNDER": "80",
           "SANDBOX": "auto"}  # the workflow requires the sandbox (its runner is set up for it); this machine may not
    done = subprocess.run(["bash", str(CI / "github" / "grade-upload.sh"), "hw3", str(SARA), str(ALI)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr  # Ali's 72.5 % is below 80
    text = summary.read_text(encoding="utf-8")
    assert "**Total: 20 / 20**" in text and "**Total: 14.5 / 20**" in text
    assert text.count("**Total:") == 2  # each submission graded once
    for name in (SARA.stem, ALI.stem):
        assert (tmp_path / "reports" / name / "report.json").is_file()
        assert (tmp_path / "reports" / name / "report.md").is_file()
        assert (tmp_path / "reports" / name / "report.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    env["FAIL_UNDER"] = "50"
    done = subprocess.run(["bash", str(CI / "github" / "grade-upload.sh"), "hw3", str(ALI)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr


def autograder_tree(tmp_path, files):
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    for name, data in files.items():
        (root / "submission" / name).write_bytes(data)
    return root


def run_autograder(root, rubric="hw3", succeeds=True):
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "DLGRADE_RUBRIC": rubric}
    done = subprocess.run(["bash", str(CI / "gradescope" / "run_autograder")], env=env, capture_output=True,
                          timeout=600)
    assert (done.returncode == 0) == succeeds, done.stderr
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))


def test_run_autograder_grades_the_unpacked_submission_into_results_json(tmp_path):
    with zipfile.ZipFile(ALI) as archive:  # Gradescope hands over the files, not the zip
        files = {os.path.basename(n): archive.read(n) for n in archive.namelist() if not n.endswith("/")}
    results = run_autograder(autograder_tree(tmp_path, files))
    assert results["score"] == 14.5 and len(results["tests"]) == 8
    assert {t["status"] for t in results["tests"]} == {"passed", "failed"}


def test_run_autograder_fails_without_a_score_when_grading_cannot_start(tmp_path):
    # a misconfigured autograder is the staff's fault: Gradescope must show a failure, not a 0
    results = run_autograder(autograder_tree(tmp_path, {"notes.txt": b"no notebook"}), rubric="no-such-rubric",
                             succeeds=False)
    assert "score" not in results and "Not graded" in results["output"] and "no-such-rubric" in results["output"]


def test_run_autograder_takes_the_student_from_gradescopes_metadata(tmp_path):
    """Gradescope renames nothing the student sees, but dlgrade grades a repacked submission.zip: the
    identity comes from submission_metadata.json, so no result warns about the file-name pattern."""
    with zipfile.ZipFile(SARA) as archive:
        files = {os.path.basename(n): archive.read(n) for n in archive.namelist() if not n.endswith("/")}
    root = autograder_tree(tmp_path, files)
    (root / "submission_metadata.json").write_text(json.dumps(
        {"id": 1, "users": [{"email": "sara@example.com", "id": 1234, "name": "Sara Ahmadi", "sid": "401234567"}]}))
    results = run_autograder(root)
    assert results["score"] == 20
    assert "pattern" not in results["output"] and "could not be identified" not in results["output"]
    without = run_autograder(autograder_tree(tmp_path / "plain", files))
    assert "could not be identified" in without["output"]  # what the metadata spares every student


def test_the_github_workflow_grades_only_what_a_push_added_with_the_sandbox_required():
    workflow = (CI / "github" / "grade-submissions.yml").read_text(encoding="utf-8")
    assert "--diff-filter=A" in workflow and "github.event.before" in workflow
    assert "apparmor_restrict_unprivileged_userns=0" in workflow
    assert "COURSE/" not in workflow and "secrets.DLGRADE_CONTENT_TOKEN" in workflow
    script = (CI / "github" / "grade-upload.sh").read_text(encoding="utf-8")
    assert script.count("grade \"$zip\"") == 1 and '--sandbox "${SANDBOX:-require}"' in script
