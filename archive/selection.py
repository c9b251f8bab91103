"""Parent selection policies: one protocol, one registry.

A selection policy chooses the parents of one proposal among an island's ok programs, as
that proposal may see them. It gets an ``IslandView`` (the island at the proposal's
horizon: ranked pools, uniform draws, program details; the SQL behind it is the
archive's) and returns program ids::

    from evolve.archive.selection import IslandView, SelectionPolicy, register_policy

    @register_policy("youngest")
    class Youngest(SelectionPolicy):
        '''The most recently born of the island's 64 fittest programs.'''

        def select(self, island: IslandView, k: int, rng: random.Random) -> list[int]:
            pool = sorted(island.top(64), key=lambda c: (-c.born_at, c.id))
            return [c.id for c in pool[:k]]

Rules: return at most ``k`` distinct ids of programs from the view; draw randomness only
from ``rng`` (same rng state and archive, same parents: campaigns replay exactly). A
policy with settings declares ``Options``, a pydantic model, and takes an instance in its
constructor; ``selection_options`` in the campaign config is validated against it. A
policy that keeps state across proposals (MAP-Elites keeps its grid) hears about every
stored program through ``observe``.

The built-in policies live in ``evolve.archive.policies`` and are registered below by
name; ``evolve --help``, config validation and the docs' table read this registry.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from evolve.errors import ConfigError
from evolve.registry import Registry

if TYPE_CHECKING:
    from evolve.archive.campaign_store import CampaignStore
    from evolve.archive.policies.clusters import IslandClusters
    from evolve.archive.records import ProgramRecord

Signature = Callable[[Mapping[str, Any], float], tuple]
"""A program's FunSearch cluster key from its metrics and fitness."""


@dataclass(frozen=True)
class Candidate:
    """An ok program as selection sees it: no code, just what ranking needs."""

    id: int
    fitness: float
    n_children: int
    born_at: int
    pos: int
    """Its dense position among the island's ok programs (insertion order)."""


@dataclass(frozen=True)
class Details:
    """More of a candidate, fetched only for the few programs a policy asks about."""

    id: int
    metrics: dict[str, Any]
    descriptor: dict[str, Any] | None
    code_length: int
    code: str | None
    """Only when asked for (``details(ids, code=True)``)."""


class IslandView(Protocol):
    """One island's ok programs at one proposal's horizon (``max_born_at``): what a
    selection policy may look at. Every method reads one consistent snapshot."""

    @property
    def campaign_id(self) -> int: ...
    @property
    def island(self) -> int: ...
    @property
    def max_born_at(self) -> int | None:
        """Programs born after this are invisible (None: all are visible)."""

    @property
    def store(self) -> CampaignStore:
        """The campaign's store, for policies that keep state in the archive (MAP-Elites)."""

    def size(self) -> int:
        """How many ok programs the island holds (visible or not): a cheap counter."""

    def top(self, n: int) -> list[Candidate]:
        """The ``n`` fittest visible programs, best first (ties: the older, then lower id)."""

    def draw(self, rng: random.Random, m: int, exclude: set[int]) -> list[Candidate]:
        """Up to ``m`` distinct visible programs, uniformly, none of ``exclude`` (by id)."""

    def details(self, ids: Sequence[int], *, code: bool = False) -> dict[int, Details]:
        """Metrics, descriptors and code length (and code, if asked) of some programs."""

    def novelty(self, ids: Sequence[int], k_nn: int, keys: Sequence[str] | None = None) -> list[float]:
        """Each program's novelty: mean scaled distance of its behaviour descriptor to its
        ``k_nn`` nearest visible programs of the whole island (a vector index)."""

    def clusters(self, signature: Signature) -> AbstractContextManager[IslandClusters]:
        """The island's FunSearch signature clusters, up to date and locked while in use."""


@runtime_checkable
class SelectionPolicy(Protocol):
    """Chooses parents; see the module docstring. Subclass it for the default ``observe``.
    Settings, if any, are a pydantic model in the class attribute ``Options``."""

    def select(self, island: IslandView, k: int, rng: random.Random) -> Sequence[int]:
        """Ids of up to ``k`` distinct parents, deterministic given ``rng`` and the view."""
        ...

    def observe(self, program: ProgramRecord) -> None:
        """Called for each program the campaign stores (default: nothing)."""
        return None


P = TypeVar("P")

SELECTION_POLICIES: Registry[Callable[..., SelectionPolicy]] = Registry("selection policy")
"""Selection policies by name: a class (or factory) taking its ``Options`` instance, or
nothing when it has no ``Options``."""


def register_policy(name: str, summary: str | None = None, *, replace: bool = False) -> Callable[[P], P]:
    """Class decorator: make a selection policy available as ``selection = "name"``."""
    return SELECTION_POLICIES.register(name, summary, replace=replace)


def check_options(name: str, options: Mapping[str, Any] | None) -> BaseModel | None:
    """The validated options of policy ``name`` (None when it takes none); ConfigError otherwise."""
    return SELECTION_POLICIES.check_options(name, options)


def make_policy(name: str, options: Mapping[str, Any] | None = None) -> SelectionPolicy:
    """A ready policy: the registered class built with its validated options."""
    policy = SELECTION_POLICIES.build(name, options)
    if not isinstance(policy, SelectionPolicy):
        raise ConfigError(
            f"selection policy {name!r} needs select(island, k, rng) and observe(program) "
            "(subclass evolve.archive.selection.SelectionPolicy for the default observe)"
        )
    return policy


_BUILTIN = "evolve.archive.policies.selection"
SELECTION_POLICIES.add("tournament", f"{_BUILTIN}:Tournament", "the best of `size` uniform contestants (default 4)")
SELECTION_POLICIES.add(
    "fitness_proportional", f"{_BUILTIN}:FitnessProportional", "linear ranking over the `pool` fittest (scale-free)"
)
SELECTION_POLICIES.add("dgm", f"{_BUILTIN}:DGM", "Darwin-Gödel Machine: sigmoid of fitness over 1 + children")
SELECTION_POLICIES.add("novelty", f"{_BUILTIN}:Novelty", "kNN novelty of behaviour descriptors among the fittest")
SELECTION_POLICIES.add("funsearch", f"{_BUILTIN}:FunSearch", "FunSearch signature clusters, shorter code preferred")
SELECTION_POLICIES.add(
    "map_elites", f"{_BUILTIN}:MapElitesPolicy", "uniform over the filled cells of a MAP-Elites grid"
)
SELECTION_POLICIES.add("uniform", f"{_BUILTIN}:Uniform", "every visible program equally likely")
SELECTION_POLICIES.add("best", f"{_BUILTIN}:Best", "the k fittest, no randomness")
