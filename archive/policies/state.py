"""In-process policy structures an archive keeps between samples (vector indexes, cluster
statistics), one per (kind, campaign, island, options). They hold nothing that is not
rebuilt from stored rows: a new process (a resume, another worker) starts empty and
catches up from the database on first use."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")
_LOCK = threading.Lock()


def policy_state(archive: Any, key: Hashable, make: Callable[[], T]) -> T:
    """The structure stored under ``key`` on this archive object, made on first use."""
    with _LOCK:
        states = archive.__dict__.setdefault("_policy_states", {})
        if key not in states:
            states[key] = make()
        return states[key]
