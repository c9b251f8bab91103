"""Backend selection: auto prefers Docker, falls back loudly, names are recorded."""

from __future__ import annotations

import logging
import os

import pytest

from evolve.errors import SandboxError
from evolve.sandbox.select import make_sandbox
from tests.needs import unavailable


@pytest.fixture
def no_daemon(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")


def test_auto_falls_back_to_process_and_says_so(no_daemon, caplog):
    with caplog.at_level(logging.WARNING, logger="evolve.sandbox.select"):
        sb = make_sandbox("auto", hide=[os.getcwd()], isolation="auto", image=None, pool_size=2)
    with sb:
        assert sb.name == "process"
    assert "falling back to the process backend" in caplog.text
    assert "no Docker daemon answers" in caplog.text


def test_docker_without_daemon_is_a_clear_error(no_daemon):
    with pytest.raises(SandboxError, match="start dockerd"):
        make_sandbox("docker")


def test_unknown_kind_and_option():
    with pytest.raises(SandboxError, match="unknown sandbox 'vm'"):
        make_sandbox("vm")
    with pytest.raises(SandboxError, match="unknown sandbox option"):
        make_sandbox("process", colour="red")


def test_process_kind_takes_the_config_names():
    with make_sandbox("process", isolation="auto", hide=[os.getcwd()], image="ignored", pool_size=3) as sb:
        assert sb.name == "process"


@pytest.mark.docker
def test_auto_prefers_docker_when_a_daemon_answers():
    from evolve.sandbox.docker_client import connect

    try:
        connect()
    except SandboxError as e:
        unavailable("a Docker daemon", str(e))
    with make_sandbox("auto", pool_size=1, hide=[os.getcwd()]) as sb:
        assert sb.name == "docker"
