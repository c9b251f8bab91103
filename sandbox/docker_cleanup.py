"""Removing what a crashed engine left behind: its sandbox containers and the private
socket directories of the direct transport (found by the owner label's host:pid)."""

from __future__ import annotations

import os
import socket

from evolve.sandbox import docker_transport

LABEL = "evolve.sandbox"


def remove_stale(client) -> int:
    """Remove sandbox containers (and direct-socket directories) left by engines on this
    host that are no longer running (a container created but never started outlives a
    crash); returns how many containers."""
    docker_transport.remove_stale_sockets(_alive)  # the directories of an engine that crashed while starting one
    host = socket.gethostname()
    removed = 0
    # ignore_removed: another pool may remove its containers while we list them
    for c in client.containers.list(all=True, filters={"label": LABEL}, ignore_removed=True):
        owner_host, _, pid = c.labels.get(f"{LABEL}.owner", "").rpartition(":")
        if owner_host != host or not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            c.remove(force=True)
            removed += 1
        except Exception:
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True
