"""Evaluations beyond one machine: send each evaluation to a Ray cluster.

The contract does not change: on a Ray worker the job runs in that machine's own
sandbox backend (process or Docker) and the problem's trusted driver talks to the
candidate there; only the ``EvalResult`` (plain data, computed by trusted code) comes
back. Ray workers are trusted machines of yours; candidates never see Ray, pickle or
the network. Each Ray worker process keeps one sandbox alive between tasks.
"""

from __future__ import annotations

import logging
from typing import Any

from evolve.errors import SandboxError
from evolve.sandbox.base import EvalJob, EvalResult, Sandbox
from evolve.sandbox.capacity import Bounds
from evolve.sandbox.channel import load_allowance

log = logging.getLogger(__name__)

_LOCAL: dict[tuple, Sandbox] = {}  # per Ray worker process: (kind, options) -> sandbox


def _evaluate_on_worker(kind: str, options: tuple, job: EvalJob) -> EvalResult:
    key = (kind, options)
    if key not in _LOCAL:
        from evolve.sandbox.select import make_sandbox

        _LOCAL[key] = make_sandbox(kind, **dict(options))
    result = _LOCAL[key].evaluate(job)
    result.details["ray_node"] = _node()
    return result


def _node() -> str:
    import ray

    return ray.get_runtime_context().get_node_id()


class RaySandbox(Sandbox):
    """``evaluate`` runs the job as a Ray task; thread-safe (the evaluator admits as many at
    once as the cluster has task slots, or ``workers``)."""

    name = "ray"

    def __init__(
        self, address: str | None = None, backend: str = "process", cpus_per_task: float = 1.0, **backend_options: Any
    ):
        try:
            import ray
        except ImportError:
            raise SandboxError("the ray executor needs Ray: pip install 'evolve-search[ray]'") from None
        self._ray = ray
        if not ray.is_initialized():
            try:
                ray.init(
                    address=address,
                    include_dashboard=False,
                    log_to_driver=False,
                    runtime_env=None,
                    ignore_reinit_error=True,
                )
            except Exception as e:  # noqa: BLE001 - any failure to connect is the user's to fix
                where = address or "a local Ray instance"
                raise SandboxError(
                    f"cannot connect to {where} ({e.__class__.__name__}: {e}); "
                    "check --ray-address (e.g. ray://head:10001 or auto)"
                ) from None
        self.backend = backend
        # hashable, so each Ray worker process keeps one sandbox per configuration
        self.options = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in backend_options.items()))
        self._remote = ray.remote(num_cpus=cpus_per_task, max_retries=0)(_evaluate_on_worker)
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        self._cpus = int(ray.cluster_resources().get("CPU", 0))
        self._where = f"{len(nodes)} node(s), {self._cpus} CPUs"
        self._slots = max(1, int(self._cpus / cpus_per_task)) if cpus_per_task > 0 else max(1, self._cpus)

    def describe(self) -> str:
        return f"ray ({self._where}; {self.backend} sandbox on each worker)"

    def bounds(self, memory_mb: int) -> Bounds:
        """As many evaluations as the cluster has task slots (its CPUs share them)."""
        return Bounds(hard=self._slots, cores=self._slots)

    def evaluate(self, job: EvalJob) -> EvalResult:
        ref = self._remote.remote(self.backend, self.options, job)
        # The sandbox on the worker enforces the real limits; this only catches a lost task.
        limit = job.wall_factor * (load_allowance(job.time_limit) + job.time_limit * len(job.cases)) + 120
        try:
            result = self._ray.get(ref, timeout=limit)
        except self._ray.exceptions.GetTimeoutError:
            self._ray.cancel(ref, force=True)
            return EvalResult("timeout", reason=f"the Ray task did not finish within {limit:g} s", backend=self.name)
        except self._ray.exceptions.RayError as e:  # a worker died: the candidate's result is unknown
            return EvalResult(
                "error", reason=f"the Ray task failed: {e.__class__.__name__}: {str(e)[:300]}", backend=self.name
            )
        result.backend = f"ray/{result.backend}"
        return result

    def close(self) -> None:
        pass  # the cluster belongs to the user; ray.shutdown() is theirs to call
