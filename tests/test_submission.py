import re
import stat
import zipfile

import pytest

from grader.submission import SubmissionError, ZipLimits, find_file, identify, open_submission

PATTERN = re.compile(r"HW3_(?P<first>[^_]+)_(?P<last>[^_]+)_(?P<student_id>\d+)\.zip")


def test_unpacks_files_and_skips_checkpoints_and_mac_junk(make_zip):
    path = make_zip("HW3_A_B_1.zip", {"hw/P1.ipynb": "{}", "hw/.ipynb_checkpoints/P1-checkpoint.ipynb": "{}",
                                      "__MACOSX/hw/._P1.ipynb": "x", "hw/data/inner.zip": b"PK\x05\x06" + bytes(18)})
    submission = open_submission(path)
    try:
        assert submission.files == ["hw/P1.ipynb", "hw/data/inner.zip"]  # nested zip kept as a file
        assert (submission.workspace / "hw" / "P1.ipynb").read_text() == "{}"
        assert len(submission.sha256) == 64 and submission.size_bytes == path.stat().st_size
    finally:
        submission.cleanup()
    assert not submission.workspace.exists()


@pytest.mark.parametrize("name", ["../evil.py", "a/../../evil.py", "/etc/evil", "C:/evil.py", "..\\evil.py"])
def test_paths_that_escape_the_workspace_are_refused(make_zip, name):
    with pytest.raises(SubmissionError, match="absolute path or '..'"):
        open_submission(make_zip("s.zip", {"ok.txt": "x", name: "x"}))


def test_symlinks_are_refused(tmp_path):
    path = tmp_path / "s.zip"
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(SubmissionError, match="symbolic link"):
        open_submission(path)


def test_a_zip_bomb_is_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", bytes(50 * 2**20))
    with pytest.raises(SubmissionError, match="zip bomb"):
        open_submission(path, workspace_root=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["bomb.zip"]  # the workspace was removed


def test_size_and_count_limits(make_zip):
    path = make_zip("s.zip", {f"f{i}.txt": "x" * 100 for i in range(5)})
    with pytest.raises(SubmissionError, match="5 entries, more than the limit of 4"):
        open_submission(path, ZipLimits(max_entries=4))
    with pytest.raises(SubmissionError, match="unpacks to 500 bytes"):
        open_submission(path, ZipLimits(max_total_bytes=499))


def test_not_a_zip_and_missing_file_name_the_file(tmp_path):
    bad = tmp_path / "HW3_A_B_1.zip"
    bad.write_text("this is a notebook, not a zip")
    with pytest.raises(SubmissionError, match="HW3_A_B_1.zip: not a readable zip file"):
        open_submission(bad)
    with pytest.raises(SubmissionError, match="no such file"):
        open_submission(tmp_path / "absent.zip")


def test_identity_from_the_file_name_or_a_warning():
    student, warning = identify("HW3_Sara_Ahmadi_401234567.zip", PATTERN)
    assert (student.first, student.last, student.student_id, warning) == ("Sara", "Ahmadi", "401234567", None)
    student, warning = identify("HW3_سارا_احمدی_401234567.zip", PATTERN)
    assert student.first == "سارا"
    student, warning = identify("final.zip", PATTERN)
    assert student.student_id is None and "final.zip" in warning and "does not follow" in warning


def test_find_notebook_by_pattern_order_case_and_depth():
    files = ["deep/dir/rnn_lstm.ipynb", "RNN_LSTM.ipynb", "notes.ipynb", "other/LSTM_only.ipynb"]
    assert find_file(files, ("*RNN*LSTM*.ipynb",)) == ("RNN_LSTM.ipynb", ["deep/dir/rnn_lstm.ipynb"])
    assert find_file(files, ("*GPT*.ipynb", "*lstm_only*")) == ("other/LSTM_only.ipynb", [])
    assert find_file(files, ("*GPT*.ipynb",)) == (None, [])
