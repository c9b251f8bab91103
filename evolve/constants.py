"""Values several packages share, each defined once here.

Like ``evolve.errors`` this module sits at the bottom of the import graph: it imports
nothing from the project, so the archive, the sandbox, the operators and the loop can all
use it without cycles.
"""

from __future__ import annotations

from typing import Literal, get_args

EvalStatus = Literal["ok", "error", "timeout", "invalid"]
"""What an evaluation ends in: the sandbox's verdict, or ``invalid`` from the trusted scorer."""

ProgramStatus = Literal["ok", "error", "timeout", "invalid", "rejected", "duplicate"]
"""Every stored program's status: an evaluation's, ``rejected`` (the operator produced no
usable code) or ``duplicate`` (same code as an evaluated program; not run again)."""

EVALUATED_STATUSES: tuple[EvalStatus, ...] = get_args(EvalStatus)
NOT_EVALUATED_STATUSES: tuple[ProgramStatus, ...] = ("rejected", "duplicate")
STATUSES: tuple[ProgramStatus, ...] = get_args(ProgramStatus)
FAILURE_STATUSES: tuple[EvalStatus, ...] = ("error", "timeout", "invalid")

DEFAULT_STORAGE = "sqlite:///evolve.db"
"""The archive a command or campaign uses when no storage URL is given."""
