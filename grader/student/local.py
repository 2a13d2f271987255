"""The runner's calling interface over a live namespace: the student's own notebook, for ``check()``.

The same agent the grader sends to a sandboxed kernel is made here over the notebook's namespace, and
its responses are read by the same bridge code, so a self-check calls and compares exactly as grading
does.  It runs in the student's own process, with the student's own code: there is nothing to guard.
"""
from __future__ import annotations

import time
from types import SimpleNamespace
from unittest import mock

from ..execution.runner import AGENT_SOURCE, Call, CallResult, call_result


class LocalRunner:
    path = None  # no notebook file: checks that read the cells are left to `grade check`

    def __init__(self, namespace: dict):
        self._outputs: list[dict] = []
        scope = {"get_ipython": lambda: SimpleNamespace(user_ns=namespace)}
        with mock.patch("IPython.display.publish_display_data", self._publish):
            exec(compile(AGENT_SOURCE, "<dlgrade agent>", "exec"), scope)  # the grader's own agent source
        self._call = scope["__dlgrade_agent__"][0]

    def _publish(self, data, metadata=None, **_) -> None:
        self._outputs.append({"output_type": "display_data", "data": data})

    def call(self, function, args: list, **options) -> CallResult:
        """One ``Call(function, args, **options)``, as the notebook runner takes it."""
        return self.call_many([Call(function, args, **options)])[0]

    def call_many(self, calls: list[Call]) -> list[CallResult]:
        return [self._make(call) for call in calls]

    def _make(self, call: Call) -> CallResult:
        text, nonce = call.request()
        self._outputs.clear()
        started = time.monotonic()
        self._call(text)
        return call_result(list(self._outputs), nonce, call.label, time.monotonic() - started)

    def cell_error_for(self, name: str):
        return None
