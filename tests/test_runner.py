"""The kernel and the runner, with real kernels (each test starts one or two)."""
import time

import numpy as np
import pytest

from grader.execution.bridge import Handle
from grader.execution import kernel as kernel_module
from grader.execution.kernel import KernelSession
from grader.execution.limits import Limits
from grader.execution.runner import Call, NotebookRunner, NotebookUnreadable

from helpers import notebook_text

FAST = Limits(call_timeout_s=2, cell_timeout_s=2, notebook_timeout_s=20)


def runner_for(tmp_path, *cells, mode="definitions", limits=FAST):
    path = tmp_path / "nb.ipynb"
    path.write_text(notebook_text(*cells))
    return NotebookRunner(path, mode, limits)


def test_kernel_survives_errors_and_is_killed_on_hangs_and_exits(tmp_path):
    with KernelSession(tmp_path, FAST) as kernel:
        assert kernel.execute("x = 41 + 1", 5).ok
        failed = kernel.execute("1 / 0", 5)
        assert (failed.status, failed.ename) == ("error", "ZeroDivisionError")
        assert kernel.execute("print(x)", 5).stdout == "42\n"
        started = time.monotonic()
        hung = kernel.execute("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(60)", 1)
        assert hung.status == "timeout" and time.monotonic() - started < 1 + 5
        assert not kernel.alive
        assert kernel.execute("import os; os._exit(3)", 5).status == "dead"


def test_a_kernel_that_dies_is_noticed_at_once(tmp_path):
    """Not at nbclient's next look, a second later: a class of crashing submissions would wait that long
    on each crash."""
    with KernelSession(tmp_path, FAST) as kernel:
        assert kernel.execute("x = 1", 5).ok
        died = kernel.execute("import os, time; time.sleep(0.2); os._exit(3)", 30)
        assert died.status == "dead" and died.duration_s < 0.2 + 0.4


def test_kernel_runs_in_the_workspace_with_a_scrubbed_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "s3cret")
    with KernelSession(tmp_path, FAST) as kernel:
        outcome = kernel.execute("import os; print(os.getcwd()); print(os.environ.get('GRADER_SECRET_TOKEN'))", 5)
    assert outcome.stdout.split() == [str(tmp_path), "None"]


def test_output_is_capped(tmp_path):
    with KernelSession(tmp_path, Limits(output_kb=4)) as kernel:
        outcome = kernel.execute("for i in range(1000): print('x' * 100)", 10)
    assert outcome.ok and outcome.output_truncated and len(outcome.stdout) <= 4 * 1024


def test_a_message_over_the_cap_never_reaches_the_grader(tmp_path, monkeypatch):
    monkeypatch.setattr(kernel_module, "MAX_MESSAGE_BYTES", 2**20)  # 256 MiB in use: too big for a test
    with KernelSession(tmp_path, FAST) as kernel:
        flood = kernel.execute("from IPython.display import display\ndisplay({'text/plain': 'x' * 3_000_000}, raw=True)", 10)
    assert flood.status == "ok" and all(len(str(output)) < 2**20 for output in flood.outputs)


def test_definitions_mode_skips_training_and_records_cell_errors(tmp_path):
    with runner_for(tmp_path, "import numpy as np", "def double(x):\n    return 2 * x",
                    "while True:\n    pass", "import not_a_module\ndef lost():\n    return 1") as run:
        assert run.call("double", [np.arange(3.0)]).value.tolist() == [0.0, 2.0, 4.0]
        # the failing import costs only itself: the function after it in the same cell is defined
        assert [e.cell for e in run.errors] == [4]
        assert "line 1: No module named 'not_a_module'; a stand-in raises" in run.errors[0].error
        assert run.call("lost", []).value == 1


def test_definitions_cells_go_in_one_request(tmp_path, monkeypatch):
    requests = []
    execute = KernelSession.execute
    monkeypatch.setattr(KernelSession, "execute", lambda self, code, *a, **k: requests.append(code) or
                        execute(self, code, *a, **k))
    with runner_for(tmp_path, "import numpy as np", "def f(x):\n    return x + 1", "n = 3\nprint('hi')",
                    "def g():\n    return n") as run:
        assert run.errors == [] and run.call("f", [1]).value == 2 and run.call("g", []).value == 3
    assert len(requests) == 1 + 1 + 2  # the cells, the agent's install, the two calls


HANGS_PAST_ITS_BUDGET = ("if True:\n    while True:\n        try:\n            while True:\n                pass\n"
                         "        except BaseException:\n            pass")


def test_a_definitions_cell_that_hangs_exits_or_kills_the_kernel_costs_only_itself(tmp_path):
    with runner_for(tmp_path, "def f():\n    return 1", HANGS_PAST_ITS_BUDGET, "def g():\n    return 2",
                    "if True:\n    raise SystemExit('bye')\ndef h():\n    return 3",
                    "if True:\n    import os\n    os._exit(1)", "def k():\n    return 4") as run:
        errors = {error.cell: error.error for error in run.errors}
        assert errors.keys() == {2, 4, 5}
        assert "timed out after 2 s" in errors[2] and errors[4] == "SystemExit: bye" and "kernel died" in errors[5]
        assert [run.call(name, []).value for name in ("f", "g", "k")] == [1, 2, 4]  # replayed after each kill
        assert run.call("h", []).status == "missing"  # the rest of the cell that exited did not run


def test_full_mode_times_out_a_looping_cell_and_goes_on(tmp_path):
    started = time.monotonic()
    with runner_for(tmp_path, "def f():\n    return 7", "while True:\n    pass", "def g():\n    return 8",
                    mode="full") as run:
        assert [e.cell for e in run.errors] == [2] and "timed out" in run.errors[0].error
        assert run.call("f", []).value == 7 and run.call("g", []).value == 8  # replayed after the kill
        assert run.restarts == 1
    assert time.monotonic() - started < 20


def test_notebook_budget_stops_the_remaining_cells(tmp_path):
    limits = Limits(cell_timeout_s=5, notebook_timeout_s=1.5, call_timeout_s=2)
    with runner_for(tmp_path, "import time\ntime.sleep(1)", "time.sleep(1)", "x = 1", mode="full",
                    limits=limits) as run:
        assert run.timed_out and "budget" in run.errors[-1].error


def test_a_call_that_hangs_or_kills_the_kernel_costs_only_that_call(tmp_path):
    with runner_for(tmp_path, "import os\ndef spin():\n    while True:\n        pass",
                    "def die():\n    os._exit(1)", "def ok(x):\n    return x + 1") as run:
        assert run.call("spin", []).status == "timeout"
        assert run.call("ok", [1]).value == 2
        assert run.call("die", []).status == "dead"
        assert run.call("ok", [2]).value == 3


BATCH_CELLS = ("import os, time\nfrom IPython.display import clear_output",
               "def slow(x):\n    time.sleep(0.7)\n    return x",
               "def spin(x):\n    while x == 2:\n        pass\n    return x",
               "def die(x):\n    if x == 1:\n        os._exit(1)\n    return x",
               "def wipe(x):\n    clear_output()\n    print('noise')\n    return x * 10",
               "def breaks_agent(x):\n    class Bad(list):\n        def __iter__(self):\n"
               "            raise KeyboardInterrupt\n    return Bad() if x == 1 else x")


def test_a_batch_of_calls_gives_each_call_its_own_deadline(tmp_path):
    limits = Limits(call_timeout_s=1, cell_timeout_s=2, notebook_timeout_s=20)
    with runner_for(tmp_path, *BATCH_CELLS, limits=limits) as run:
        started = time.monotonic()
        results = run.call_many([Call("slow", [i]) for i in range(4)])  # 2.8 s in all, 0.7 s each
        assert [r.value for r in results] == [0, 1, 2, 3] and time.monotonic() - started < 4
        assert all(0.5 < r.duration_s < 1.0 for r in results)


def test_a_batch_stops_at_a_call_that_hangs_or_kills_the_kernel(tmp_path):
    with runner_for(tmp_path, *BATCH_CELLS) as run:
        started = time.monotonic()
        hung = run.call_many([Call("spin", [i]) for i in range(5)])
        assert [r.status for r in hung] == ["ok", "ok", "timeout"] and [r.value for r in hung[:2]] == [0, 1]
        assert "spin() did not return within 2 s" in hung[2].message
        assert time.monotonic() - started < 2 + 3  # one call's timeout, not the batch's sum
        dead = run.call_many([Call("die", [i]) for i in range(3)])
        assert [r.status for r in dead] == ["ok", "dead"] and "crashed the kernel" in dead[1].message
        assert [r.value for r in run.call_many([Call("slow", [5]), Call("spin", [6])])] == [5, 6]


def test_a_batch_keeps_its_responses_whatever_the_student_code_does(tmp_path):
    with runner_for(tmp_path, *BATCH_CELLS) as run:
        wiped = run.call_many([Call("wipe", [i]) for i in range(3)])  # each call clears the cell's output
        assert [r.value for r in wiped] == [0, 10, 20]
        # an escape from the agent's own loop costs that call; the calls after it are still made
        broken = run.call_many([Call("breaks_agent", [i]) for i in range(3)])
        assert [r.status for r in broken] == ["ok", "error", "ok"] and broken[2].value == 2
        assert "KeyboardInterrupt" in broken[1].message
        assert run.call_many([]) == []


def test_results_that_cannot_cross_are_clear_errors(tmp_path):
    with runner_for(tmp_path, "import numpy as np",
                    "def obj():\n    return np.array([object()])",
                    "def gen():\n    return (i for i in range(3))",
                    "def deep():\n    x = []\n    for _ in range(100):\n        x = [x]\n    return x",
                    "def boom():\n    raise SystemExit('bye')",
                    "def matrix():\n    return np.matrix([[1.0, 2.0]])") as run:
        assert run.call("obj", []).status == "invalid"
        assert "generator" in run.call("gen", []).message
        assert run.call("deep", []).status == "invalid"
        raised = run.call("boom", [])
        assert raised.status == "error" and "SystemExit" in raised.message
        assert type(run.call("matrix", []).value) is np.ndarray  # subclasses arrive as plain arrays


def test_handles_keep_a_value_in_the_kernel_for_a_later_call(tmp_path):
    with runner_for(tmp_path, "def forward(x):\n    return x * 2, {'x': x}",
                    "def backward(cache):\n    return cache['x'] + 100") as run:
        forward = run.call("forward", [np.ones(2)], keep="h")
        assert forward.ok and forward.value[0].tolist() == [2.0, 2.0]
        assert run.call("backward", [Handle("h")[1]]).value.tolist() == [101.0, 101.0]


def test_tensors_cross_as_arrays_and_can_be_sent_as_tensors(tmp_path):
    with runner_for(tmp_path, "import torch", "def f(x):\n    return (x * 2).requires_grad_(), type(x).__name__") as run:
        as_arrays = run.call("f", [np.ones(2)])
        as_tensors = run.call("f", [np.ones(2)], tensors=True)
    assert as_arrays.status == "error"  # numpy arrays have no requires_grad_
    assert as_tensors.value[0].tolist() == [2.0, 2.0] and as_tensors.value[1] == "Tensor"


@pytest.mark.parametrize("content, message", [("{not json", "not valid notebook JSON"),
                                              ('{"cells": 3}', "no list of cells")])
def test_unreadable_notebooks_are_named(tmp_path, content, message):
    path = tmp_path / "broken.ipynb"
    path.write_text(content)
    with pytest.raises(NotebookUnreadable, match=f"broken.ipynb.*{message}|{message}"):
        NotebookRunner(path, "full", FAST).__enter__()


def test_replays_after_kernel_deaths_are_bounded_by_the_notebook_budget(tmp_path):
    """Every call kills the kernel and every restart replays a slow cell: the replays together stop at the
    notebook's budget, and the calls after that are refused with the reason, not made."""
    limits = Limits(call_timeout_s=2, cell_timeout_s=2, notebook_timeout_s=3)
    started = time.monotonic()
    with runner_for(tmp_path, "import time, os\ntime.sleep(0.8)", "def die(x):\n    os._exit(1)",
                    mode="full", limits=limits) as run:
        results = [run.call("die", [1]) for _ in range(12)]
    elapsed = time.monotonic() - started
    assert all(result.status == "dead" for result in results)
    assert "replays have spent the notebook's 3 s budget" in results[-1].message
    assert run.replay_s <= limits.notebook_timeout_s + limits.cell_timeout_s
    assert elapsed < 2 * limits.notebook_timeout_s + 12 * 1.5 + 10, elapsed  # not 12 replays of the notebook
    assert run.restarts <= 5


FAKE_RESPONSES = '''
import json, sys, time
from IPython.display import publish_display_data

def nonces_in_flight():
    """The nonces of the batch being made, read from the grader's own request list in the caller's frame."""
    frame = sys._getframe(1)
    while frame is not None:
        for value in frame.f_locals.values():
            if isinstance(value, str) and '"nonce"' in value:
                return [json.loads(value)["nonce"]]
        frame = frame.f_back
    return []

def flood(x):
    junk = "x" * 8 * 2**20
    for n in range(40):
        publish_display_data({"application/x-dlgrade-response+json": {"nonce": "n%d" % n, "junk": junk}})
    return x

def stall(x):
    mine = nonces_in_flight()
    while True:  # a response every half second, its own nonce included, and never a return
        for nonce in mine + ["made-up"]:
            publish_display_data({"application/x-dlgrade-response+json": {"nonce": nonce, "status": "ok"}})
        time.sleep(0.5)
'''


def test_messages_that_imitate_responses_take_no_memory_and_extend_no_deadline(tmp_path):
    import resource

    limits = Limits(call_timeout_s=2, cell_timeout_s=10, notebook_timeout_s=20)
    with runner_for(tmp_path, FAKE_RESPONSES, limits=limits) as run:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        flooded = run.call("flood", [np.arange(3.0)])
        grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        assert flooded.ok and flooded.value.tolist() == [0.0, 1.0, 2.0]
        assert grown_mib < 100, f"the grader grew by {grown_mib:.0f} MiB for 320 MiB of fake responses"
        started = time.monotonic()
        stalled = run.call_many([Call("stall", [1.0]), Call("stall", [2.0])])
        elapsed = time.monotonic() - started
    assert stalled[-1].status in ("timeout", "invalid"), stalled
    assert elapsed < 2 * limits.call_timeout_s + 3, f"{elapsed:.1f} s for two calls of 2 s"
