"""What the dashboard serves, by API path: one object shared by the web server, the
static report (which embeds the same answers) and the plots.

Each answer is plain JSON-ready data. Series over all programs come from a per-campaign
``ColumnCache`` and are memoised until new programs arrive.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from evolve.archive.records import clean_json
from evolve.archive.views import ArchiveReader
from evolve.dashboard import diversity as div
from evolve.dashboard import lineage as lin
from evolve.dashboard.columns import ColumnCache
from evolve.dashboard.program import program_page
from evolve.dashboard.progress import operators, progress
from evolve.errors import EvolveError

log = logging.getLogger(__name__)
LINEAGE_TTL = 10.0


class NotFound(EvolveError):
    """No such campaign, program or path."""


class Dashboard:
    def __init__(self, reader: ArchiveReader):
        self.reader = reader
        self._caches: dict[int, ColumnCache] = {}
        self._memo: dict[tuple, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    # -- helpers ----------------------------------------------------------------------

    def _campaign(self, campaign_id: int) -> dict[str, Any]:
        c = self.reader.campaign(campaign_id, counts=False)
        if c is None:
            raise NotFound(f"no campaign with id {campaign_id}")
        return c

    def _cache(self, campaign_id: int) -> ColumnCache:
        with self._lock:
            if campaign_id not in self._caches:
                self._caches[campaign_id] = ColumnCache(self.reader, campaign_id)
            return self._caches[campaign_id]

    def _memoised(self, key: tuple, campaign_id: int, fn: Callable[[Any], Any]) -> Any:
        cache = self._cache(campaign_id)
        frame = cache.frame()
        hit = self._memo.get(key)
        if hit is not None and hit[0] == cache.version:
            return hit[1]
        value = fn(frame)
        self._memo[key] = (cache.version, value)
        return value

    def warm(self, first: int | None = None, most: int = 5) -> threading.Thread:
        """Read campaigns' programs into memory in the background (``first``, then the
        most recently updated), so the first chart a person opens is already fast."""

        def run() -> None:
            order = sorted(self.reader.campaigns(), key=lambda c: -(c["updated_at"] or 0))
            ids = ([first] if first is not None else []) + [c["id"] for c in order if c["id"] != first]
            for cid in ids[:most]:
                try:
                    self.progress(cid)
                except Exception:  # noqa: BLE001 - warming is best effort; a request will say what is wrong
                    log.debug("warming campaign %s failed", cid, exc_info=True)

        thread = threading.Thread(target=run, name="evolve-dashboard-warm", daemon=True)
        thread.start()
        return thread

    # -- answers ----------------------------------------------------------------------

    def campaigns(self) -> list[dict[str, Any]]:
        return [_overview(c) for c in self.reader.campaigns()]

    def summary(self, campaign_id: int) -> dict[str, Any]:
        """The campaign's header and counts; the page polls it every second, so the
        counts come from the in-memory columns (new rows only), not a scan."""
        c = self._campaign(campaign_id)
        frame = self._cache(campaign_id).frame()
        codes = np.bincount(frame.cols["status"], minlength=len(frame.vocab["status"]))
        c["counts"] = {s: int(n) for s, n in zip(frame.vocab["status"], codes) if n}
        max_id = int(frame.cols["id"].max()) if len(frame) else 0
        return {**_overview(c), "config": c["config"], "max_id": max_id}

    def progress(self, campaign_id: int) -> dict[str, Any]:
        self._campaign(campaign_id)
        return self._memoised(("progress", campaign_id), campaign_id, progress)

    def operators(self, campaign_id: int) -> dict[str, Any]:
        self._campaign(campaign_id)
        return self._memoised(("operators", campaign_id), campaign_id, operators)

    def diversity(self, campaign_id: int) -> dict[str, Any]:
        c = self._campaign(campaign_id)
        return self._memoised(("diversity", campaign_id), campaign_id, lambda f: div.diversity(self.reader, c, f))

    def finetune(self, campaign_id: int) -> dict[str, Any]:
        c = self._campaign(campaign_id)
        return self._memoised(("finetune", campaign_id), campaign_id, lambda f: div.finetune(self.reader, c, f))

    def lineage(self, campaign_id: int, k: int = 10, limit: int = 1000) -> dict[str, Any]:
        c = self._campaign(campaign_id)
        k, limit = max(1, min(k, 200)), max(10, min(limit, 20_000))
        # The drawing depends on which programs are the top k; new programs elsewhere
        # change only marks and child counts, refreshed at most every LINEAGE_TTL seconds.
        top = tuple(self.reader.best_ids(campaign_id, k))
        key = ("lineage", campaign_id, k, limit)
        hit = self._memo.get(key)
        if hit is not None and hit[0] == (top, int(time.monotonic() // LINEAGE_TTL)):
            return hit[1]
        value = lin.lineage(self.reader, c, k, limit)
        self._memo[key] = ((top, int(time.monotonic() // LINEAGE_TTL)), value)
        return value

    def neighbours(self, program_id: int) -> dict[str, Any]:
        p = self.reader.light([program_id])
        if not p:
            raise NotFound(f"no program with id {program_id}")
        campaign_id = self.reader.program(program_id).campaign_id  # type: ignore[union-attr]
        return lin.neighbours(self.reader, self._campaign(campaign_id), program_id)

    def program(self, program_id: int) -> dict[str, Any]:
        page = program_page(self.reader, program_id)
        if page is None:
            raise NotFound(f"no program with id {program_id}")
        return page

    def recent(self, campaign_id: int, limit: int = 30) -> list[dict[str, Any]]:
        self._campaign(campaign_id)
        return self.reader.recent(campaign_id, max(1, min(limit, 200)))

    def top(self, campaign_id: int, k: int = 10) -> list[dict[str, Any]]:
        """The ``k`` best programs (light fields), best first."""
        self._campaign(campaign_id)
        ids = self.reader.best_ids(campaign_id, max(1, min(k, 200)))
        found = {p["id"]: p for p in self.reader.light(ids)}
        return [found[i] for i in ids if i in found]

    def code(self, program_id: int) -> tuple[str, str]:
        """The program's code exactly as ``evolve export`` writes it, and a file name."""
        page = self.reader.program(program_id)
        if page is None:
            raise NotFound(f"no program with id {program_id}")
        c = self.reader.campaign(page.campaign_id, counts=False)
        from evolve.dashboard.program import download_name

        return page.code, download_name(c["problem"] if c else "program", program_id)


def _overview(c: dict[str, Any]) -> dict[str, Any]:
    counts = c["counts"]
    evaluated = sum(counts.get(s, 0) for s in ("ok", "error", "timeout", "invalid"))
    islands = int(c["config"].get("islands") or 1)
    best = c.get("best")
    return {
        "id": c["id"],
        "name": c["name"],
        "problem": c["problem"],
        "status": c["status"],
        "budget": c["config"].get("budget"),
        # seeds are stored once per island and are not evaluations the budget counts
        "evaluations": max(evaluated - islands, 0) if counts.get("ok") else evaluated,
        "counts": counts,
        "best": best["objective"] if best else None,
        "best_id": best["id"] if best else None,
        "spend": c["spend"],
        "sandbox": c["state"].get("sandbox"),
        "islands": islands,
        "operator": c["config"].get("operator") or ("llm" if c["config"].get("llm") else "gp"),
        "models": [m.get("spec") for m in (c["config"].get("llm") or {}).get("models") or []],
        "selection": c["config"].get("selection"),
        "created_at": c["created_at"],
        "updated_at": c["updated_at"],
    }


def to_json(value: Any) -> str:
    """JSON text every browser parses (non-finite floats become strings)."""
    try:  # the common case: already plain (series carry None, not NaN)
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError):  # NaN/inf in metrics, numpy scalars: clean a copy
        return json.dumps(clean_json(value), separators=(",", ":"), allow_nan=False)
