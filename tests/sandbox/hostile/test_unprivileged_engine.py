"""The hostile suite with the engine running as an ordinary user, not root.

Then the process backend cannot drop to another uid: without bubblewrap it must build
its walls inside a user namespace (``namespaces`` isolation), and with bubblewrap it
runs it unprivileged. The suite runs in a child pytest as uid 65534 (nobody), in a
private mount namespace where only the Python installation is made reachable for it
(here it lives under /root, which nobody may not enter).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

NOBODY = 65534
ROOT = Path(__file__).resolve().parents[3]


def _reachable_python_script() -> str:
    """Shell lines (run as root in a private mount namespace) that make the interpreter's
    directories under /root reachable for other users, nothing else of /root."""
    roots = sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
    under_root = [r for r in roots if r.startswith("/root/")]
    if not under_root:
        return ""
    lines, stage = [], tempfile.mkdtemp(prefix="stage-")
    for i, root in enumerate(under_root):
        lines.append(f"mkdir -p {stage}/{i} && mount --bind {root} {stage}/{i}")
    lines.append("mount -t tmpfs -o mode=0755 tmpfs /root")
    for i, root in enumerate(under_root):
        lines.append(f"mkdir -p {root} && mount --move {stage}/{i} {root}")
    return " && ".join(lines) + " && "


@pytest.mark.skipif(os.geteuid() != 0, reason="the engine already runs unprivileged: the main suite covers it")
def test_hostile_suite_with_an_unprivileged_engine():
    home = tempfile.mkdtemp(prefix="unpriv-engine-")
    os.chown(home, NOBODY, NOBODY)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "CI": "",
    }
    inner = (
        f"exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups --inh-caps=-all "
        f"{sys.executable} -m pytest {ROOT / 'tests/sandbox/hostile/test_hostile.py'} "
        f"-q -p no:cacheprovider -k 'not docker' --rootdir {ROOT}"
    )
    try:
        done = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", _reachable_python_script() + inner],
            cwd=home,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    tail = (done.stdout + done.stderr)[-6000:]
    assert done.returncode == 0, tail
    summary = re.search(r"(\d+) passed", tail)
    assert summary and int(summary.group(1)) >= 100, tail
    assert "skipped" not in tail.splitlines()[-1], tail
