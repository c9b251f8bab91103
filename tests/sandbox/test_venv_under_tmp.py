"""The sandboxes work from a Python environment under /tmp.

The host runtime mounts the engine's interpreter read-only into the container at the
same path; a venv under /tmp therefore lands on the container's scratch /tmp. The
scratch wipe used to take that mount for a leftover, report every job unclean and
start a new container per evaluation. This runs the pool from a real venv under /tmp
(so CI runs one job from there on every run) and checks the containers are reused."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import tempfile

import pytest

SCRIPT = r"""
import json, sys
from evolve.problems.contract import default_drive
from evolve.sandbox.base import EvalJob
from evolve.sandbox.docker import DockerSandbox
from evolve.sandbox.process import ProcessSandbox

job = EvalJob(code="def main(x):\n    return 2 * x\n", harness="def run(program, case):\n    return program.main(case)\n",
              cases=[21], drive=default_drive, time_limit=10, memory_mb=256)
report = {"prefix": sys.prefix}
with DockerSandbox(pool_size=1, memory_mb=256) as sb:
    report["mounted"] = sorted(sb.runtime.binds)
    first = {c.container.id for c in sb.pool.items()}
    report["outputs"] = [sb.evaluate(job).outputs for _ in range(5)]
    report["same_container"] = {c.container.id for c in sb.pool.items()} == first
with ProcessSandbox() as sb:
    report["process"] = sb.evaluate(job).outputs
print(json.dumps(report))
"""


def _make_venv(root: str) -> str:
    """A venv under /tmp that imports this installation of evolve."""
    venv = os.path.join(root, "venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", venv], check=True)
    lib = subprocess.run(
        [os.path.join(venv, "bin", "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = [p for p in site.getsitepackages() if os.path.isdir(p)]
    with open(os.path.join(lib, "evolve_origin.pth"), "w") as f:  # .pth files there (editable installs) run too
        f.write("".join(f"import site; site.addsitedir({p!r})\n" for p in ours))
    return os.path.join(venv, "bin", "python")


@pytest.mark.docker
def test_the_warm_pool_reuses_containers_with_a_venv_under_tmp():
    with tempfile.TemporaryDirectory(prefix="evolve-venv-", dir="/tmp") as root:
        python = _make_venv(root)
        out = subprocess.run(
            [python, "-c", SCRIPT], capture_output=True, text=True, timeout=300, cwd=root, env=dict(os.environ)
        )
        assert out.returncode == 0, out.stderr[-3000:]
        report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["prefix"].startswith("/tmp/")
    assert any(m.startswith("/tmp/") for m in report["mounted"]), report["mounted"]  # the case under test
    assert report["outputs"] == [[42]] * 5
    assert report["same_container"], "a clean job must hand its container back to the pool"
    assert report["process"] == [42]
