"""The program that runs inside every sandbox, next to the untrusted candidate.

Standalone on purpose (standard library only, no project imports): backends start it
as ``python -I runner.py`` (process backend) or call ``serve()`` in a forked child
(Docker worker). It speaks line-delimited JSON on its original stdin/stdout, which it
keeps on private descriptors; the candidate's own stdout/stderr go to ``output.log`` in
the working directory and stdin is /dev/null.

Host -> runner                         runner -> host
{"op": "load", "code", "harness"}      {"ready": true} | {"error": ..., "kind": "load"}
{"op": "case", "case": X}              {"msg": Y}* then {"result": Z} | {"error": ..., "kind": ...}
{"msg": Y}  (answer to channel.recv)
{"op": "end"}                          (exits 0)

Everything the runner reports is a claim: the candidate shares this process and can
forge any of it. The engine's trusted driver and scorer verify it all.
"""

import inspect
import json
import os
import sys
import traceback
import types

_MAX_TRACEBACK = 4000


def _jsonable(obj):
    tolist = getattr(obj, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        return tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


class _Channel:
    """What the harness sees: ``send`` a message to the trusted driver, ``recv`` its answer."""

    def __init__(self, rx, tx):
        self._rx, self._tx = rx, tx

    def send(self, message):
        _write(self._tx, {"msg": message})

    def recv(self):
        line = self._rx.readline()
        if not line:
            raise EOFError("the engine closed the channel")
        data = json.loads(line)
        if "msg" not in data:
            raise EOFError("the engine ended the case")
        return data["msg"]

    def exchange(self, message):
        self.send(message)
        return self.recv()


def _write(tx, obj):
    tx.write(json.dumps(obj, allow_nan=False, default=_jsonable, separators=(",", ":")) + "\n")
    tx.flush()


def _tb():
    """The traceback without the runner's own frames (operators see only their code)."""
    etype, value, tb = sys.exc_info()
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    text = "".join(traceback.format_exception(etype, value, tb))
    if len(text) > _MAX_TRACEBACK:
        text = "...\n" + text[-_MAX_TRACEBACK:]
    return text


def _load(code, harness):
    program = types.ModuleType("program")
    program.__file__ = "program.py"
    with open("program.py", "w") as f:
        f.write(code)
    sys.modules["program"] = program
    exec(compile(code, program.__file__, "exec"), program.__dict__)
    hmod = types.ModuleType("harness")
    hmod.__file__ = "harness.py"
    exec(compile(harness, "harness.py", "exec"), hmod.__dict__)
    run = getattr(hmod, "run", None)
    if not callable(run):
        raise RuntimeError("the harness defines no run(program, case[, channel]) function")
    wants_channel = len(inspect.signature(run).parameters) >= 3
    return program, run, wants_channel


def _not_loaded(*args):
    raise RuntimeError("no program loaded: the host sends 'load' before any case")


def serve(rx, tx):
    """Answer the host's requests until it says end (or closes the pipe)."""
    program: types.ModuleType | None = None
    run = _not_loaded
    wants_channel = False
    channel = _Channel(rx, tx)
    while True:
        line = rx.readline()
        if not line:
            return
        req = json.loads(line)
        op = req.get("op")
        if op == "end":
            return
        if op == "load":
            try:
                program, run, wants_channel = _load(req["code"], req["harness"])
            except BaseException:
                _write(tx, {"error": _tb(), "kind": "load"})
                return
            _write(tx, {"ready": True})
        elif op == "case":
            try:
                args = (program, req["case"], channel) if wants_channel else (program, req["case"])
                out = run(*args)
            except BaseException:
                _write(tx, {"error": _tb(), "kind": "exception"})
                continue
            try:
                _write(tx, {"result": out})
            except (TypeError, ValueError) as e:
                _write(tx, {"error": f"output is not valid JSON: {e}", "kind": "invalid"})


def main():
    # Keep the protocol on private descriptors; the candidate gets /dev/null and a log.
    rx = os.fdopen(os.dup(0), "r", buffering=1)
    tx = os.fdopen(os.dup(1), "w", buffering=1)
    log = os.open("output.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.close(devnull)
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    serve(rx, tx)
    sys.stdout.flush()
    os._exit(0)  # skip atexit handlers the candidate may have registered


if __name__ == "__main__":
    main()
