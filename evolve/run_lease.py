"""One `evolve run` per campaign at a time.

`evolve run` (and ``Campaign.run``) evolves every island itself, so it leases them all
for as long as it runs, with the same leases and heartbeats as ``evolve worker``. A
second `evolve run` of the same campaign, on any machine that shares the database,
refuses at start with one line that names the process running it; to put more machines
on one campaign, use `evolve worker`, which shares the islands. A lease whose holder
died stops being renewed and frees itself after ``ttl`` seconds; on the same machine a
holder whose process is gone is recognised at once, so a killed run resumes right away.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from datetime import datetime

from evolve.errors import EvolveError

log = logging.getLogger(__name__)

RUN_TTL = 30.0
_OWNER = re.compile(r"^(?P<host>[^\s:]+):(?P<pid>\d+)\b")


class CampaignBusy(EvolveError):
    """Another process is running the campaign."""


def owner_name(kind: str = "evolve run") -> str:
    return f"{socket.gethostname()}:{os.getpid()} ({kind})"


def holder_is_dead(owner: str) -> bool:
    """True when ``owner`` (host:pid ...) names a process of this machine that is gone."""
    m = _OWNER.match(owner or "")
    if not m or m.group("host") != socket.gethostname():
        return False
    pid = int(m.group("pid"))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class RunLease:
    """Hold every island of a campaign while ``with`` runs; renewed every ttl/3 seconds."""

    def __init__(self, archive, campaign, islands: int, ttl: float = RUN_TTL):
        self.archive = archive
        self.campaign = campaign
        self.islands = islands
        self.ttl = ttl
        self.owner = owner_name()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RunLease:
        held = self.archive.acquire_all_islands(
            self.campaign.id, self.owner, self.ttl, range(self.islands), is_dead=holder_is_dead
        )
        if held is not None:
            left = max(0.0, (held.expires or 0) - time.time())
            since = datetime.fromtimestamp(held.heartbeat_at).strftime("%H:%M:%S") if held.heartbeat_at else "?"
            raise CampaignBusy(
                f"campaign {self.campaign.name!r} is being run by {held.owner} (alive at {since}); "
                f"wait for it, stop it, or add machines with `evolve worker` "
                f"(a dead holder's lease frees itself within {left:.0f} s)"
            )
        self._thread = threading.Thread(target=self._beat, daemon=True, name="evolve-run-lease")
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                self.archive.renew_all_islands(self.campaign.id, self.owner, self.ttl)
            except Exception:  # noqa: BLE001 - a database hiccup: try again next beat
                log.warning("renewing the run lease failed; retrying", exc_info=True)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.archive.release_all_islands(self.campaign.id, self.owner)
        except Exception:  # noqa: BLE001 - the lease expires by itself
            log.warning("releasing the run lease failed; it expires in %.0f s", self.ttl, exc_info=True)
