"""Quality-diversity on top of the archive: the built-in selection policies, MAP-Elites
grids, novelty, FunSearch signature clusters, and optional embedding-based
near-duplicate rejection.

``selection`` holds the built-in policies (registered by name in
``evolve.archive.selection``); the other modules are the pieces they are made of.
Names load on first use (numpy is not imported until a policy needs it).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "case_signature": "clusters",
    "temperature": "clusters",
    "ast_shape_hash": "descriptors",
    "ast_signature": "descriptors",
    "builtin_descriptors": "descriptors",
    "code_length": "descriptors",
    "Dimension": "map_elites",
    "Grid": "map_elites",
    "GridConfig": "grid_config",
    "MapElites": "map_elites",
    "Novelty": "novelty",
    "knn_novelty": "novelty",
    "novelty_of": "novelty",
}

if TYPE_CHECKING:
    from evolve.archive.policies.clusters import case_signature, temperature
    from evolve.archive.policies.descriptors import ast_shape_hash, ast_signature, builtin_descriptors, code_length
    from evolve.archive.policies.grid_config import GridConfig
    from evolve.archive.policies.map_elites import Dimension, Grid, MapElites
    from evolve.archive.policies.novelty import Novelty, knn_novelty, novelty_of

__all__ = [
    "Dimension",
    "Grid",
    "GridConfig",
    "MapElites",
    "Novelty",
    "ast_shape_hash",
    "ast_signature",
    "builtin_descriptors",
    "case_signature",
    "code_length",
    "knn_novelty",
    "novelty_of",
    "temperature",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"evolve.archive.policies.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'evolve.archive.policies' has no attribute {name!r}")
