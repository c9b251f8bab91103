"""Choosing the process sandbox's isolation: the fallbacks keep the guarantees, and where
nothing can keep them evaluation is refused unless the user opts in to the risk.

"No bubblewrap" is simulated with a PATH that holds no bwrap, so machines that have it
(CI) test the defaults of machines that do not.
"""

from __future__ import annotations

import os

import pytest

from evolve.errors import SandboxError
from evolve.problems.contract import default_drive
from evolve.sandbox import isolation
from evolve.sandbox.base import EvalJob
from evolve.sandbox.process import ProcessSandbox

WHO = """
import os
def main():
    return {"uid": os.getuid(), "euid": os.geteuid(), "groups": os.getgroups()}
"""
HARNESS = "def run(program, case):\n    return program.main()\n"


def _who(sb) -> dict:
    result = sb.evaluate(EvalJob(code=WHO, harness=HARNESS, cases=[None], drive=default_drive, time_limit=10))
    assert result.status == "ok", result.reason
    return result.outputs[0]


@pytest.fixture
def no_bwrap(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine where bubblewrap is not installed


def test_auto_without_bubblewrap_falls_back_to_namespaces_never_root(no_bwrap):
    with ProcessSandbox(hide=[os.getcwd()]) as sb:
        assert sb.level == "namespaces"
        who = _who(sb)
    assert who["uid"] != 0 and who["euid"] != 0
    if os.geteuid() == 0:
        assert sb.drop_uid and "own uid" in sb.describe()
        assert who["groups"] == []


def test_unshare_is_the_old_name_of_namespaces():
    assert ProcessSandbox(isolation_level="unshare").level == "namespaces"


def test_none_is_refused_without_the_opt_in():
    with pytest.raises(SandboxError, match="--unsafe-no-isolation") as e:
        ProcessSandbox(isolation_level="none")
    assert "\n" not in str(e.value)


def test_none_with_the_opt_in_never_runs_as_root():
    if os.geteuid() == 0 and not isolation.uid_can_run_python():
        # The interpreter lives where an unprivileged uid cannot start it (here: /root):
        # rather than run candidates as root, the opt-in is refused too.
        with pytest.raises(SandboxError, match="cannot drop root"):
            ProcessSandbox(isolation_level="none", unsafe_no_isolation=True)
        return
    with ProcessSandbox(isolation_level="none", unsafe_no_isolation=True) as sb:
        assert _who(sb)["euid"] != 0


def test_nothing_keeps_the_guarantees_refuses_in_one_line(no_bwrap, monkeypatch):
    # A kernel without usable namespaces (e.g. unprivileged user namespaces disabled).
    monkeypatch.setattr(
        isolation, "_probe_confine", lambda level="namespaces": (False, "unshare: Operation not permitted")
    )
    isolation._detect.cache_clear()
    try:
        with pytest.raises(SandboxError) as e:
            ProcessSandbox()
        message = str(e.value)
        assert "\n" not in message
        assert "apt-get install bubblewrap" in message and "--unsafe-no-isolation" in message
        assert "Operation not permitted" in message
        if os.geteuid() == 0:  # the opt-in cannot make a root engine run candidates as root
            with pytest.raises(SandboxError, match="cannot drop root"):
                monkeypatch.setattr(isolation, "uid_can_run_python", lambda: False)
                ProcessSandbox(unsafe_no_isolation=True)
    finally:
        isolation._detect.cache_clear()


def test_a_named_level_that_does_not_work_is_an_error(no_bwrap):
    with pytest.raises(SandboxError, match="isolation 'bwrap' does not work"):
        ProcessSandbox(isolation_level="bwrap")


def test_the_docker_socket_and_runtime_dirs_are_always_hidden(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///srv/custom/docker.sock")
    hidden = isolation.hidden_paths(["/data/archive"])
    for path in ("/run", "/root", "/home", "/tmp", "/dev/shm", "/srv/custom/docker.sock", "/data/archive"):
        assert path in hidden
