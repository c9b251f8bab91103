"""``evolve sandbox check``: which sandbox backends work on this machine, and why not.

Each backend is tried for real: it is started and evaluates a tiny candidate, so "ok"
means an evaluation went through end to end, not just that a binary exists.
"""

from __future__ import annotations

import logging
import time

from evolve.errors import EvolveError
from evolve.sandbox.base import EvalJob, Sandbox

log = logging.getLogger(__name__)

_CODE = "def main(x):\n    return x + 1\n"
_HARNESS = "def run(program, case):\n    return program.main(case)\n"


def _drive(case, channel):
    channel.start(case)
    return channel.result()


def _probe(sandbox: Sandbox) -> tuple[bool, str]:
    start = time.monotonic()
    result = sandbox.evaluate(EvalJob(code=_CODE, harness=_HARNESS, cases=[41], drive=_drive, time_limit=20))
    took = (time.monotonic() - start) * 1000
    if result.status == "ok" and result.outputs == [42]:
        return True, f"a test evaluation took {took:.0f} ms"
    return False, f"a test evaluation failed: {result.status}: {result.reason}"


def check_process() -> tuple[str, bool, str]:
    try:
        from evolve.sandbox.process import ProcessSandbox

        with ProcessSandbox() as sb:
            ok, detail = _probe(sb)
            return "process", ok, f"{sb.describe()}; {detail}"
    except Exception as e:  # report, never crash the check
        return "process", False, _explain(e)


def check_docker(image: str | None = None) -> tuple[str, bool, str]:
    name = "docker" if image is None else f"docker ({image})"
    try:
        from evolve.sandbox.docker import DockerSandbox
        from evolve.sandbox.docker_client import connect

        client = connect()
        version = client.version().get("Version", "?")
        with DockerSandbox(image=image, pool_size=1, client=client) as sb:
            ok, detail = _probe(sb)
            what = "offline host-runtime image" if sb.runtime.host_runtime else f"image {image}"
            return name, ok, f"daemon {version}, {what} {sb.runtime.image}; {detail}"
    except Exception as e:
        return name, False, _explain(e)


def _explain(e: Exception) -> str:
    if isinstance(e, EvolveError):
        return str(e)
    log.debug("sandbox check failed", exc_info=True)
    return f"{e.__class__.__name__}: {str(e)[:300]}"


def check_backends(image: str | None = None) -> list[tuple[str, bool, str]]:
    """(backend, works, detail) for the Docker and process backends, in preference order."""
    return [check_docker(image), check_process()]
