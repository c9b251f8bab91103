import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
QUADRATIC = str(HERE / "quadratic")


def evolve_cli(*args, cwd, timeout=300, check=True):
    """Run the real `evolve` console script in a subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVOLVE_")}
    proc = subprocess.run(
        [sys.executable, "-m", "evolve", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"evolve {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def quadratic():
    return QUADRATIC
