"""An in-process stand-in for the sandbox, to test the problems' trusted logic.

The harness runs in a thread; messages cross as JSON text, like the real runner
protocol, so numpy values and bools reach the driver exactly as they would from a
sandbox. This is for testing drivers and scorers, never for running untrusted code.
"""

from __future__ import annotations

import inspect
import json
import queue
import threading
import types
from typing import Any

import pytest

_DONE = object()


def load_module(name: str, source: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, f"{name}.py", "exec"), module.__dict__)
    return module


def _wire(message: Any) -> Any:
    return json.loads(json.dumps(message, allow_nan=False, default=lambda o: o.tolist()))


class InProcessChannel:
    """evolve.problems.contract.Channel over a thread and two queues."""

    def __init__(self, program: types.ModuleType, harness: types.ModuleType):
        self.program, self.harness = program, harness
        self.to_harness: queue.Queue = queue.Queue()
        self.to_driver: queue.Queue = queue.Queue()
        self.outcome: dict[str, Any] = {}
        self.thread: threading.Thread | None = None

    # The harness's side, what `channel` is inside run(program, case, channel).
    class _Inside:
        def __init__(self, outer: InProcessChannel):
            self.outer = outer

        def send(self, message):
            self.outer.to_driver.put(_wire(message))

        def recv(self):
            return self.outer.to_harness.get()

        def exchange(self, message):
            self.send(message)
            return self.recv()

    def start(self, case: Any) -> None:
        def body():
            try:
                run = self.harness.run
                args = [self.program, _wire(case)]
                if len(inspect.signature(run).parameters) >= 3:  # as the runner decides
                    args.append(self._Inside(self))
                self.outcome["result"] = _wire(run(*args))
            except BaseException as e:  # report it to the driver, like the runner does
                self.outcome["error"] = e
            self.to_driver.put(_DONE)

        self.thread = threading.Thread(target=body, daemon=True)
        self.thread.start()

    def send(self, message: Any) -> None:
        self.to_harness.put(_wire(message))

    def recv(self) -> Any:
        message = self.to_driver.get(timeout=30)
        if message is _DONE:
            raise RuntimeError(f"the harness ended: {self.outcome.get('error')!r}")
        return message

    def exchange(self, message: Any) -> Any:
        self.send(message)
        return self.recv()

    def feed(self, messages: list[Any]) -> list[Any]:
        return [self.exchange(m) for m in messages]

    def result(self) -> Any:
        message = self.to_driver.get(timeout=30)
        if message is not _DONE:
            raise RuntimeError(f"the harness sent {message!r} after its last answer")
        if "error" in self.outcome:
            raise self.outcome["error"]
        return self.outcome["result"]


def run_in_process(problem, code: str | types.ModuleType | None = None, cases: list | None = None) -> list:
    """Drive every case of ``problem`` against ``code`` (source or an already loaded
    module; default: the seed) and return the driver's outputs."""
    if isinstance(code, types.ModuleType):
        program = code
    else:
        program = load_module("program", code or problem.initial_program)
    harness = load_module("harness", problem.harness)
    outputs = []
    for case in problem.cases if cases is None else cases:
        outputs.append(problem.drive(case, InProcessChannel(program, harness)))
    return outputs


class InProcess:
    run = staticmethod(run_in_process)
    module = staticmethod(load_module)
    Channel = InProcessChannel

    def __call__(self, *args, **kwargs):
        return run_in_process(*args, **kwargs)


@pytest.fixture
def inproc():
    """``inproc(problem, code=None, cases=None) -> outputs``; also ``inproc.module(name, source)``."""
    return InProcess()
