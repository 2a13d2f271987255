"""The bundled rubrics, templates, starter files and the kernel agent ship inside the wheel, so
``--rubric hw3`` works from an installed package and not only from a checkout."""
import subprocess
import sys
import zipfile

from helpers import REPO


def test_wheel_contains_rubrics_reference_and_agent(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(REPO)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("dlgrade-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("rubrics/hw3/rubric.toml", "rubrics/hw3/template/P1_RNN_LSTM.ipynb",
                     "rubrics/hw3/template/rnn_utils.py", "rubrics/hw3/solution/P1_RNN_LSTM.ipynb",
                     "reference/hw3_rnn.py", "grader/execution/agent_source.py", "grader/cli.py",
                     "rubrics/cs231n-rnn/template/cs231n/rnn_layers.py", "rubrics/cs231n-rnn/solution/cs231n/rnn_layers.py",
                     "reference/cs231n_rnn.py"):
        assert required in names, required
    assert not any(name.startswith(("tests/", "submissions_example/")) for name in names)
